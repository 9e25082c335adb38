"""Message metadata on what the bot posts outside the conversation itself (the assistant
pane's greeting, refusals, error lines, notices), so that reading a thread back from Slack
never takes it for one of the model's answers (bot/slack/backfill.py)."""

from __future__ import annotations

from typing import Any

GREETING_EVENT_TYPE = "assistant_greeting"
NOTICE_EVENT_TYPE = "bot_notice"
NOT_CONVERSATION_EVENT_TYPES = frozenset({GREETING_EVENT_TYPE, NOTICE_EVENT_TYPE})


def notice_metadata() -> dict[str, Any]:
    return {"event_type": NOTICE_EVENT_TYPE, "event_payload": {}}
