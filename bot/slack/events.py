"""Slack message payloads → typed values, and the rules for which messages the bot ignores."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.slack.payload import mapping_of, text_of
from bot.slack.rich_text import blocks_to_slack_text

# Subtypes that are still a person writing to the bot; every other subtype (edits, deletions,
# joins, bot posts, channel changes, ones Slack adds later) is never answered, so the bot
# cannot loop. Edits and deletions are mirrored into memory instead (parse_change).
ANSWERABLE_SUBTYPES = frozenset({"", "file_share", "thread_broadcast"})
# What a deleted thread root with replies becomes: a message_changed to this subtype.
TOMBSTONE = "tombstone"


@dataclass(frozen=True)
class SlackMessage:
    team_id: str
    channel_id: str
    channel_type: str
    user_id: str
    ts: str
    thread_ts: str
    text: str  # Slack markup, from `text` or, when that is empty, rendered from `blocks`
    subtype: str
    bot_id: str
    has_files: bool
    event_type: str
    # The author's name as the event carries it (`user_profile`, on messages people post), so
    # the name needs no users.info call; empty when the event has none.
    user_name: str = ""
    # The author's own workspace, which a stream's recipient_team_id names: in Slack Connect
    # channels it is not the installation's (`team_id`).
    user_team: str = ""
    # The event's file objects, as Slack sent them (bot.slack.files reads them).
    files: tuple[Any, ...] = ()

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


@dataclass(frozen=True)
class MessageEdit:
    """A message's new state (`message_changed`): its text replaces what was remembered."""

    team_id: str
    channel_id: str
    thread_ts: str
    ts: str
    text: str
    edited_ts: str
    user_id: str
    bot_id: str


@dataclass(frozen=True)
class MessageDeletion:
    """A message that is gone (`message_deleted`, or a thread root turned into a tombstone)."""

    team_id: str
    channel_id: str
    thread_ts: str
    ts: str
    user_id: str
    bot_id: str


def message_text(message: Mapping[str, Any]) -> str:
    """A message's text in Slack markup: `text`, or what its blocks show when it has none."""
    return text_of(message.get("text")) or blocks_to_slack_text(message.get("blocks"))


def team_of(body: Mapping[str, Any], event: Mapping[str, Any]) -> str:
    """The installation the event was delivered to, as Bolt reads it: in Slack Connect and
    Enterprise Grid channels the envelope's `team_id` can be the sender's workspace, which would
    split one thread into two sessions; `authorizations[0]` is the same whoever writes (its
    enterprise for an organisation-wide install, whose channel ids are unique in the org)."""
    authorizations = body.get("authorizations")
    if isinstance(authorizations, list) and authorizations:
        installation = mapping_of(authorizations[0])
        key = "enterprise_id" if installation.get("is_enterprise_install") is True else "team_id"
        team = text_of(installation.get(key))
        if team:
            return team
    return text_of(body.get("team_id")) or text_of(event.get("team"))


def team_of_interaction(body: Mapping[str, Any]) -> str:
    """The installation a shortcut or button payload was delivered to: `team` is the workspace of
    the app that posted the message, whoever clicks (`user.team_id` is the clicker's, which
    differs in Slack Connect); an organisation-wide install is keyed by its enterprise."""
    if body.get("is_enterprise_install") is True:
        enterprise = text_of(mapping_of(body.get("enterprise")).get("id"))
        if enterprise:
            return enterprise
    return text_of(mapping_of(body.get("team")).get("id")) or text_of(
        mapping_of(body.get("user")).get("team_id"))


def parse_message(body: Mapping[str, Any]) -> SlackMessage | None:
    """Read an `event_callback` body carrying a `message` or `app_mention` event.

    Tolerates missing optional fields and unknown extra keys; returns None when the event has
    no channel or ts, which a real user message always has.
    """
    event = body.get("event")
    if not isinstance(event, Mapping):
        return None
    channel_id, ts = text_of(event.get("channel")), text_of(event.get("ts"))
    if not channel_id or not ts:
        return None
    return SlackMessage(
        team_id=team_of(body, event),
        channel_id=channel_id,
        channel_type=text_of(event.get("channel_type")),
        user_id=text_of(event.get("user")),
        ts=ts,
        thread_ts=text_of(event.get("thread_ts")),
        text=message_text(event),
        subtype=text_of(event.get("subtype")),
        bot_id=_bot_id(event),
        has_files=bool(event.get("files")),
        event_type=text_of(event.get("type")),
        user_name=_profile_name(event.get("user_profile")),
        user_team=text_of(event.get("user_team")) or text_of(event.get("team")),
        files=tuple(event["files"]) if isinstance(event.get("files"), list) else (),
    )


def parse_change(body: Mapping[str, Any]) -> MessageEdit | MessageDeletion | None:
    """Read a `message_changed` or `message_deleted` event; None for anything else."""
    event = mapping_of(body.get("event"))
    subtype = text_of(event.get("subtype"))
    channel_id = text_of(event.get("channel"))
    team_id = team_of(body, event)
    if subtype == "message_deleted":
        before = mapping_of(event.get("previous_message"))
        ts = text_of(event.get("deleted_ts")) or text_of(before.get("ts"))
        if not channel_id or not ts:
            return None
        return MessageDeletion(
            team_id=team_id, channel_id=channel_id,
            thread_ts=text_of(before.get("thread_ts")) or ts, ts=ts,
            user_id=text_of(before.get("user")), bot_id=_bot_id(before),
        )
    if subtype != "message_changed":
        return None
    after = mapping_of(event.get("message"))
    ts = text_of(after.get("ts"))
    if not channel_id or not ts:
        return None
    thread_ts = text_of(after.get("thread_ts")) or ts
    if text_of(after.get("subtype")) == TOMBSTONE:
        return MessageDeletion(team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, ts=ts,
                               user_id=text_of(after.get("user")), bot_id=_bot_id(after))
    return MessageEdit(
        team_id=team_id, channel_id=channel_id, thread_ts=thread_ts, ts=ts,
        text=message_text(after),
        # No `edited` mark (an unfurl, a reaction count): the state is as old as the message.
        edited_ts=text_of(mapping_of(after.get("edited")).get("ts")) or ts,
        user_id=text_of(after.get("user")), bot_id=_bot_id(after),
    )


def _bot_id(event: Mapping[str, Any]) -> str:
    return text_of(event.get("bot_id")) or (
        text_of(event.get("app_id")) if event.get("bot_profile") else ""
    )


def _profile_name(profile: Any) -> str:
    """The name Slack shows for the author: display name, else real name, else username."""
    if not isinstance(profile, Mapping):
        return ""
    for field in ("display_name", "real_name", "name"):
        name = text_of(profile.get(field)).strip()
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
