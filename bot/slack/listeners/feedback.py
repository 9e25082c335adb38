"""Thumbs up/down under an answer: acknowledged at once and logged with the session id.

Feedback is logged, not stored: the message store keeps conversation turns only and has no way
to annotate one, and a log line (session id, message ts, value) is what an operator can already
search, count and export.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import Ack, App

from bot.core.records import SessionKey
from bot.slack.events import team_of_interaction
from bot.slack.formatting import FEEDBACK_ACTION_ID
from bot.slack.payload import mapping_of, text_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerFeedback:
    session: SessionKey
    message_ts: str
    user_id: str
    value: str  # "positive" or "negative"



def parse_feedback(body: Mapping[str, Any]) -> AnswerFeedback | None:
    """Read a block_actions payload for the feedback buttons; None if it lacks where or what."""
    container, message = mapping_of(body.get("container")), mapping_of(body.get("message"))
    actions = body.get("actions")
    action = mapping_of(actions[0]) if isinstance(actions, list) and actions else {}
    user = mapping_of(body.get("user"))
    team_id = team_of_interaction(body)
    channel_id = text_of(container.get("channel_id")) or text_of(mapping_of(body.get("channel")).get("id"))
    message_ts = text_of(container.get("message_ts")) or text_of(message.get("ts"))
    # An answer always sits in a thread; its thread_ts is the session's.
    thread_ts = text_of(container.get("thread_ts")) or text_of(message.get("thread_ts")) or message_ts
    value = text_of(action.get("value"))
    if not (team_id and channel_id and message_ts and value):
        return None
    return AnswerFeedback(
        session=SessionKey(team_id, channel_id, thread_ts),
        message_ts=message_ts,
        user_id=text_of(user.get("id")),
        value=value,
    )


def register(app: App) -> None:
    def record_answer_feedback(ack: Ack, body: dict) -> None:
        ack()
        feedback = parse_feedback(body)
        if feedback is None:
            log.warning("answer feedback without a message or value; ignored")
            return
        log.info(
            "answer feedback %s on message %s in session %s from %s",
            feedback.value, feedback.message_ts, feedback.session.id, feedback.user_id,
        )

    app.action(FEEDBACK_ACTION_ID)(record_answer_feedback)
