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
from bot.slack.formatting import FEEDBACK_ACTION_ID

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AnswerFeedback:
    session: SessionKey
    message_ts: str
    user_id: str
    value: str  # "positive" or "negative"


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def parse_feedback(body: Mapping[str, Any]) -> AnswerFeedback | None:
    """Read a block_actions payload for the feedback buttons; None if it lacks where or what."""
    container, message = _mapping(body.get("container")), _mapping(body.get("message"))
    actions = body.get("actions")
    action = _mapping(actions[0]) if isinstance(actions, list) and actions else {}
    team_id = _text(_mapping(body.get("team")).get("id")) or _text(_mapping(body.get("user")).get("team_id"))
    channel_id = _text(container.get("channel_id")) or _text(_mapping(body.get("channel")).get("id"))
    message_ts = _text(container.get("message_ts")) or _text(message.get("ts"))
    # An answer always sits in a thread; its thread_ts is the session's.
    thread_ts = _text(container.get("thread_ts")) or _text(message.get("thread_ts")) or message_ts
    value = _text(action.get("value"))
    if not (team_id and channel_id and message_ts and value):
        return None
    return AnswerFeedback(
        session=SessionKey(team_id, channel_id, thread_ts),
        message_ts=message_ts,
        user_id=_text(_mapping(body.get("user")).get("id")),
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
