"""Joining a thread mid-way: what the thread said before the bot was mentioned, from Slack.

The conversation core asks for it (ThreadHistory) when a thread was never read, or its read
did not finish; it stores what comes back and marks the thread read.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Any

from slack_sdk import WebClient

from bot import messages as say
from bot.core.conversation import ThreadUnreadable
from bot.core.files import files_metadata
from bot.core.records import SessionKey, StoredMessage, is_before, sort_key
from bot.slack.client import Refused, SlackCaller
from bot.slack.events import ANSWERABLE_SUBTYPES, message_text
from bot.slack.files import complete_refs, refs_of
from bot.slack.metadata import NOT_CONVERSATION_EVENT_TYPES
from bot.slack.payload import mapping_of, text_of
from bot.slack.text import decode_slack_text
from bot.slack.users import UserNames

log = logging.getLogger(__name__)

PAGE_SIZE = 200


class SlackThread:
    """A ThreadHistory read with conversations.replies, once per turn at most."""

    def __init__(self, client: WebClient, *, bot_user_id: str, names: UserNames) -> None:
        self._client = client
        self._bot_user_id = bot_user_id
        self._names = names
        self._read: dict[tuple[SessionKey, str, str], list[StoredMessage]] = {}

    def earlier_messages(
        self, session: SessionKey, *, before_ts: str, after_ts: str
    ) -> list[StoredMessage]:
        """People's messages and the bot's own answers, oldest first; ThreadUnreadable when
        Slack refuses or cannot be reached (HTTP errors, `ratelimited` after the client's
        retries, timeouts, resets, DNS)."""
        wanted = (session, before_ts, after_ts)
        if wanted not in self._read:
            self._read[wanted] = self._fetch(session, before_ts=before_ts, after_ts=after_ts)
        return self._read[wanted]

    def _fetch(self, session: SessionKey, *, before_ts: str, after_ts: str) -> list[StoredMessage]:
        items = self._replies(session, after_ts=after_ts)
        earlier: list[StoredMessage] = []
        for item in items:
            ts = text_of(item.get("ts"))
            if not ts or not is_before(ts, before_ts) or (after_ts and not is_before(after_ts, ts)):
                continue
            stored = self._to_stored(item, ts, session)
            # An answer of the bot's before anyone wrote answers nobody: it starts nothing.
            if stored is not None and (stored.role == "human" or earlier):
                earlier.append(stored)
        return earlier

    def _replies(self, session: SessionKey, *, after_ts: str) -> list[Mapping[str, Any]]:
        slack = SlackCaller(session.channel_id, log)
        arguments: dict[str, Any] = {
            "channel": session.channel_id, "ts": session.thread_ts, "limit": PAGE_SIZE,
            "include_all_metadata": True,
        }
        if after_ts:
            arguments["oldest"] = after_ts
        items: list[Mapping[str, Any]] = []
        try:
            page = slack.call(self._client.conversations_replies, **arguments)
            while True:
                items += [mapping_of(item) for item in page.get("messages") or []]
                cursor = text_of(mapping_of(page.get("response_metadata")).get("next_cursor"))
                if not cursor:
                    return items
                page = slack.call(self._client.conversations_replies, **arguments, cursor=cursor)
        except Refused as refusal:
            if refusal.error == "thread_not_found":
                return items  # nothing before: the thread starts with this message
            raise ThreadUnreadable(refusal.explain()) from None

    def _to_stored(self, item: Mapping[str, Any], ts: str, session: SessionKey
                   ) -> StoredMessage | None:
        if mapping_of(item.get("metadata")).get("event_type") in NOT_CONVERSATION_EVENT_TYPES:
            return None
        edited_ts = text_of(mapping_of(item.get("edited")).get("ts"))
        name_of = self._names.for_one_message()  # thousands of mentions ask about a few people
        if text_of(item.get("user")) == self._bot_user_id:
            text = say.without_notices(_markdown_of(item) or self._decoded(item, name_of))
            if not text.strip():
                return None
            return StoredMessage(sort_key(ts), "ai", text, slack_ts=ts)
        if item.get("bot_id") or text_of(item.get("subtype")) not in ANSWERABLE_SUBTYPES:
            return None
        text = self._decoded(item, name_of)
        files = complete_refs(self._client, refs_of(item.get("files"), session), session)
        if not text and not files:
            return None
        user_id = text_of(item.get("user"))
        return StoredMessage(sort_key(ts), "human", text, user_id, self._names.name_of(user_id),
                             ts, metadata=files_metadata(files), edited_ts=edited_ts)

    def _decoded(self, item: Mapping[str, Any], name_of: Callable[[str], str]) -> str:
        return decode_slack_text(message_text(item), bot_user_id=self._bot_user_id,
                                 name_of=name_of)


def _markdown_of(item: Mapping[str, Any]) -> str:
    """What the bot wrote, exactly: the markdown its answers carry in `markdown` blocks."""
    blocks = item.get("blocks")
    if not isinstance(blocks, list):
        return ""
    return "".join(text_of(mapping_of(b).get("text")) for b in blocks
                   if mapping_of(b).get("type") == "markdown")
