"""The small interfaces the conversation core talks through (adapters live outside bot.core)."""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Protocol

from bot.core.records import RecentHistory, StoredMessage


class StoreUnavailable(Exception):
    """The history store could not be reached or refused the request (outage, throttling)."""


class MessageStore(Protocol):
    """Where threads are remembered: one record per message, keyed by session id and sort key.

    Implementations: `bot.store.dynamodb.DynamoDBMessageStore`, `bot.store.sqlite.SQLiteMessageStore`.
    Every method raises StoreUnavailable when the backend cannot serve it.
    """

    def append(self, session_id: str, messages: Sequence[StoredMessage]) -> int:
        """Write each message unless one with the same key exists; return how many were new.

        Never reads or rewrites other messages of the session.
        """
        ...

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        """Newest messages (keys < before_key) whose estimated tokens fit the budget, oldest first.

        Reads newest-first, page by page, and stops as soon as the budget is spent.
        """
        ...

    def all(self, session_id: str) -> list[StoredMessage]:
        """Every message of the session, oldest first (operator commands, LangChain's interface)."""
        ...

    def has_session(self, session_id: str) -> bool: ...

    def forget(self, session_id: str) -> int:
        """Delete every message of the session; return how many were deleted."""
        ...

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        """Session ids, most recently written first (console thread list)."""
        ...


class ClaimState(Enum):
    CLAIMED = "claimed"        # this worker owns the event now
    IN_PROGRESS = "in_progress"  # another worker owns it and has not finished or timed out
    DONE = "done"              # already answered


class ClaimStore(Protocol):
    """Exactly-once processing: one claim per key, shared by every replica."""

    def claim(self, keys: Sequence[str]) -> ClaimState: ...

    def complete(self, keys: Sequence[str]) -> None: ...

    def release(self, keys: Sequence[str]) -> None:
        """Give the claim up (the work failed before any reply), so a retry may take it."""
        ...


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
