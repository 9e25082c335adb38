"""Joining a thread mid-way: read what was said before the bot was mentioned, once."""

from __future__ import annotations

import logging
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.ports import MessageStore
from bot.core.records import StoredMessage, sort_key
from bot.slack.text import decode_slack_text

log = logging.getLogger(__name__)

# Message metadata (event_type) the bot puts on what it posts outside the conversation, such
# as the assistant pane's greeting: such messages are never read back as the bot's answers.
GREETING_EVENT_TYPE = "assistant_greeting"
NOT_CONVERSATION_EVENT_TYPES = frozenset({GREETING_EVENT_TYPE})


def backfill_thread(
    *,
    client: WebClient,
    store: MessageStore,
    session_id: str,
    channel_id: str,
    thread_ts: str,
    before_ts: str,
    bot_user_id: str,
    name_of: Callable[[str], str],
) -> int:
    """Store the thread's earlier messages (people's and the bot's own); return how many.

    Called only when the store has nothing for this session, so conversations.replies is read
    once per thread; later turns find the session and skip this. Writes are idempotent, so a
    concurrent or repeated backfill adds no copies. The bot's greeting is left out: it is
    marked with metadata, and a bot message before anyone wrote answers nobody anyway.
    """
    earlier: list[StoredMessage] = []
    try:
        pages = client.conversations_replies(
            channel=channel_id, ts=thread_ts, limit=200, include_all_metadata=True
        )
        for page in pages:  # slack_sdk follows next_cursor
            for item in page.get("messages", []):
                if _is_outside_the_conversation(item):
                    continue
                stored = _to_stored(item, before_ts, bot_user_id, name_of)
                if stored is not None and (stored.role == "human" or earlier):
                    earlier.append(stored)
    except SlackApiError as error:
        log.warning(
            "conversations.replies failed for %s: %s",
            session_id, error.response.get("error", "unknown_error"),
        )
        return 0
    if earlier:
        store.append(session_id, earlier)
    return len(earlier)


def _is_outside_the_conversation(item: dict) -> bool:
    metadata = item.get("metadata")
    return isinstance(metadata, dict) and metadata.get("event_type") in NOT_CONVERSATION_EVENT_TYPES


def _to_stored(
    item: dict, before_ts: str, bot_user_id: str, name_of: Callable[[str], str]
) -> StoredMessage | None:
    ts = item.get("ts", "")
    if not ts or sort_key(ts) >= sort_key(before_ts):  # exact, unlike float (16 digits)
        return None
    text = decode_slack_text(item.get("text") or "", bot_user_id=bot_user_id, name_of=name_of)
    if not text:
        return None
    user_id = item.get("user", "")
    if user_id == bot_user_id:
        return StoredMessage(sort_key(ts), "ai", text, slack_ts=ts)
    if item.get("bot_id") or item.get("subtype") not in (None, "thread_broadcast", "file_share"):
        return None
    return StoredMessage.human(ts=ts, text=text, author_id=user_id, author_name=name_of(user_id))
