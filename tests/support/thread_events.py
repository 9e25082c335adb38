"""Signed Slack events for the memory tests (mentions and thread replies in one channel)."""

from __future__ import annotations

from typing import Any

from tests.fakes.signing import app_mention, event_callback, message

CHANNEL = "C0MEMORY"
TEAM = "T1"


def session_id(thread_ts: str) -> str:
    return f"{TEAM}:{CHANNEL}:{thread_ts}"


def mention(ts: str, text: str, *, thread_ts: str | None = None, user: str = "U_ANA") -> dict[str, Any]:
    event = app_mention(channel=CHANNEL, user=user, text=f"<@U_BOT> {text}", ts=ts,
                        thread_ts=thread_ts, team=TEAM)
    return event_callback(event, team_id=TEAM)


def reply(ts: str, text: str, *, thread_ts: str, user: str = "U_ANA") -> dict[str, Any]:
    event = message(channel=CHANNEL, user=user, text=text, ts=ts, thread_ts=thread_ts,
                    channel_type="channel", team=TEAM)
    return event_callback(event, team_id=TEAM)
