"""One token estimate shared by every store, so budgets mean the same on each backend."""

from __future__ import annotations

from collections.abc import Iterable

from langchain_core.messages.utils import count_tokens_approximately

from bot.core.records import RecentHistory, StoredMessage
from bot.store.history import to_langchain


def estimate_tokens(message: StoredMessage) -> int:
    """LangChain's approximation (about 4 characters a token plus a little per message)."""
    return count_tokens_approximately([to_langchain(message)])


def take_within_budget(newest_first: Iterable[StoredMessage], budget: int) -> RecentHistory:
    """The newest messages whose estimates fit `budget`, oldest first.

    Stops pulling from `newest_first` at the first message that does not fit (a lazy reader
    stops paging there), so the history handed on is always an unbroken tail of the thread.
    """
    taken: list[StoredMessage] = []
    spent = 0
    for message in newest_first:
        cost = estimate_tokens(message)
        if spent + cost > budget:
            return RecentHistory(taken[::-1], has_older=True)
        taken.append(message)
        spent += cost
    return RecentHistory(taken[::-1], has_older=False)
