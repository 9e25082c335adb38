"""The small interfaces the conversation core talks through (adapters live outside bot.core)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from bot.core.prompt import Prompt
from bot.core.records import RecentHistory, SessionKey, StoredMessage, Summary, UsageRecord


class StoreUnavailable(Exception):
    """The history store could not be reached or refused the request (outage, throttling)."""


class ClaimState(Enum):
    CLAIMED = "claimed"        # this worker owns the event now
    IN_PROGRESS = "in_progress"  # another worker owns it and has not finished or timed out
    DONE = "done"              # already answered


class MessageStore(Protocol):
    """Where threads are remembered: one record per message, keyed by session id and sort key.

    Implementations: `bot.store.dynamodb.DynamoDBMessageStore`, `bot.store.sqlite.SQLiteMessageStore`.
    Every method raises StoreUnavailable when the backend cannot serve it. A deleted message
    leaves a tombstone under its key (no text): it is never read back, and no write can bring
    it back.
    """

    def append(
        self, session_id: str, messages: Sequence[StoredMessage], *, guarded: bool = False
    ) -> int:
        """Write each message unless one with the same key exists; return how many were new.

        Never reads or rewrites other messages of the session. `guarded`: refuse a message
        whose key's ts is not after the session's `forgotten_at`, in the same atomic write, so
        nothing from before a `forget` comes back (a turn in progress, a late delivery).
        """
        ...

    def claim(
        self, session_id: str, key: str, *, message: StoredMessage | None, done: bool = False
    ) -> ClaimState:
        """Exactly once: store `message` under `key` as claimed by this worker (or, without a
        message, only the claim) in one atomic write, unless the key is taken.

        A key is free when nothing holds it, or when its claim is IN_PROGRESS and older than
        the store's takeover time (its worker is presumed dead). A message written before the
        thread was forgotten is refused (DONE). `done`: the claim is complete at once (nothing
        is to be answered).
        """
        ...

    def complete(
        self, session_id: str, key: str, *, answer: StoredMessage | None = None,
        usage: UsageRecord | None = None,
    ) -> bool:
        """Mark the claim of `key` done, writing `answer` and adding `usage` to its day's
        counters in the same atomic write; False when the answer was refused (the question was
        deleted, or its thread forgotten): then nothing was written, usage included."""
        ...

    def release(self, session_id: str, key: str) -> None:
        """Give up an IN_PROGRESS claim at once (the turn failed before any answer), so the next
        delivery of the message takes it over instead of waiting out the takeover time."""
        ...

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        """Newest messages (keys < before_key) whose estimated tokens fit the budget, oldest
        first, with the session's state.

        Reads newest-first, page by page, and stops as soon as the budget is spent.
        """
        ...

    def between(
        self, session_id: str, *, from_key: str, before_key: str, token_budget: int
    ) -> tuple[list[StoredMessage], str]:
        """The oldest messages with from_key <= key < before_key whose estimated tokens fit
        the budget (at least one), oldest first, and the key of the first one left out ("":
        none); reads oldest-first, stopping at the budget."""
        ...

    def all(self, session_id: str) -> list[StoredMessage]:
        """Every message of the session, oldest first (operator commands, LangChain's interface)."""
        ...

    def has_session(self, session_id: str) -> bool:
        """Whether any message of the session is remembered (the bot is part of the thread)."""
        ...

    def edit(self, session_id: str, key: str, *, text: str, edited_ts: str) -> bool:
        """Replace a remembered message's text, unless the text held is from a newer edit or the
        message was deleted; False when nothing was changed (unknown, deleted or older)."""
        ...

    def delete(self, session_id: str, keys: Sequence[str]) -> int:
        """Replace remembered messages by tombstones; return how many were remembered."""
        ...

    def mark_backfill(self, session_id: str, *, state: str, before_ts: str) -> None:
        """Record how far reading the thread from Slack has got (SessionState.backfill)."""
        ...

    def forget(self, session_id: str) -> int:
        """Delete every item of the session and leave the forget marker; return how many
        messages were deleted."""
        ...

    def forget_author(self, author_id: str) -> ForgetReport:
        """Delete one person's messages, and the bot's answers to them, from every session,
        and remember when, so reading a thread from Slack never brings them back."""
        ...

    def forgotten_authors(self, author_ids: Sequence[str]) -> dict[str, str]:
        """Of these people, those forgotten, with the ts of the forget."""
        ...

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        """Session ids, most recently written first (console thread list)."""
        ...

    def save_summary(self, session_id: str, summary: Summary) -> bool:
        """Store the session's summary unless a message was edited or deleted since the
        generation it was read with (then False: it may hold what is no longer said)."""
        ...

    def invalidate_summary(self, session_id: str, *, changed_key: str) -> None:
        """A message was edited or deleted: summaries being built are refused, and the stored
        one is dropped if it covers the message (it is built again from the thread)."""
        ...

    def add_usage(self, record: UsageRecord) -> None:
        """Add a turn's usage to its day's counters (atomic: correct across replicas)."""
        ...

    def usage(self, days: Sequence[str], *, user_id: str = "") -> list[UsageRecord]:
        """The counters of these days, one per day, person, thread and model (`user_id`: that
        person's only)."""
        ...


@dataclass(frozen=True)
class ForgetReport:
    messages: int
    sessions: int
    usage_rows: int = 0  # the person's day counters, now counted as nobody's


class ReplySink(Protocol):
    """Where an answer goes: a Slack thread, the terminal. Created per turn."""

    def show_status(self) -> None:
        """Say the bot is working (Slack: 'is thinking…')."""
        ...

    def write(self, text: str) -> None:
        """Append a piece of the answer as the model produces it."""
        ...

    def finish(self, *, note: str = "") -> str:
        """Close the answer (with an optional short note after it); return the reply's id/ts."""
        ...

    def fail(self, message: str) -> None:
        """Replace or follow what was written with one friendly error message."""
        ...


class FileAttacher(Protocol):
    """Puts what the model can read of each file in a prompt where its reference is (bytes
    fetched from Slack, behind a cache) and says what it left out, as notes for the person.
    Never raises for a file it cannot read: that file gets a placeholder."""

    def __call__(
        self, prompt: Prompt, session: SessionKey, *, token_budget: int
    ) -> tuple[Prompt, list[str]]: ...
