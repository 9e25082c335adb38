"""Slack message payloads → typed values, and the rules for which messages the bot ignores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# Subtypes that are still a person writing to the bot; every other subtype (edits, deletions,
# joins, bot posts, channel changes, ones Slack adds later) is ignored so the bot never loops.
ANSWERABLE_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})


@dataclass(frozen=True)
class SlackMessage:
    team_id: str
    channel_id: str
    channel_type: str
    user_id: str
    ts: str
    thread_ts: str
    text: str
    subtype: str
    bot_id: str
    has_files: bool
    event_id: str
    event_type: str
    # The author's name as the event carries it (`user_profile`, on messages people post), so
    # the name needs no users.info call; empty when the event has none.
    user_name: str = ""

    @property
    def is_in_thread(self) -> bool:
        """A reply inside an existing thread (not the thread's first message)."""
        return bool(self.thread_ts) and self.thread_ts != self.ts

    @property
    def session_thread_ts(self) -> str:
        """A top-level message starts a thread: its own ts is the thread's ts."""
        return self.thread_ts or self.ts

    @property
    def is_direct_message(self) -> bool:
        return self.channel_type == "im" or self.channel_id.startswith("D")


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def parse_message(body: Mapping[str, Any]) -> SlackMessage | None:
    """Read an `event_callback` body carrying a `message` or `app_mention` event.

    Tolerates missing optional fields and unknown extra keys; returns None when the event has
    no channel or ts, which a real user message always has.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        return None
    channel_id, ts = _text(event.get("channel")), _text(event.get("ts"))
    if not channel_id or not ts:
        return None
    team_id = _text(body.get("team_id")) or _text(event.get("team"))
    return SlackMessage(
        team_id=team_id,
        channel_id=channel_id,
        channel_type=_text(event.get("channel_type")),
        user_id=_text(event.get("user")),
        ts=ts,
        thread_ts=_text(event.get("thread_ts")),
        text=_text(event.get("text")),
        subtype=_text(event.get("subtype")),
        bot_id=_text(event.get("bot_id")) or (
            _text(event.get("app_id")) if event.get("bot_profile") else ""
        ),
        has_files=bool(event.get("files")),
        event_id=_text(body.get("event_id")),
        event_type=_text(event.get("type")),
        user_name=_profile_name(event.get("user_profile")),
    )


def _profile_name(profile: Any) -> str:
    """The name Slack shows for the author: display name, else real name, else username."""
    if not isinstance(profile, Mapping):
        return ""
    for field in ("display_name", "real_name", "name"):
        name = _text(profile.get(field)).strip()
        if name:
            return name
    return ""


def ignore_reason(message: SlackMessage, *, bot_user_id: str) -> str | None:
    """Why the bot must not answer this message, or None if it may."""
    if message.subtype not in ANSWERABLE_SUBTYPES:
        return f"subtype {message.subtype}"
    if message.bot_id:
        return "posted by a bot or app"
    if not message.user_id:
        return "no user"
    if message.user_id == bot_user_id:
        return "the bot's own message"
    if not message.team_id:
        return "no team"
    return None
