"""Slack's native Stop button (agent sessions): stop the answer streaming in that thread."""

from __future__ import annotations

import logging

from slack_bolt import Ack, App

from bot.slack.stop import RunningAnswers, parse_stop

log = logging.getLogger(__name__)


def register(app: App, running: RunningAnswers) -> None:
    def stop_answer(ack: Ack, body: dict) -> None:
        ack()
        request = parse_stop(body)
        if request is None:
            log.warning("agent_session_stopped without a team, channel or thread; ignored")
            return
        stopped = running.stop(request.session.id)
        if stopped:
            log.info("%s stopped the answer in %s", request.user_id, request.session.id)
        else:
            log.info("stop for %s with no answer running here", request.session.id)

    app.event("agent_session_stopped")(stop_answer)
