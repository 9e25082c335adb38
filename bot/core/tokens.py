"""The one token estimate, for budgets everywhere: what the stores read and what the prompt keeps.

LangChain's `count_tokens_approximately` counts about four characters a token plus three per
message, but needs a message object for each message; a history read estimates a hundred, so
this applies the same rule to the text alone.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from langchain_core.messages import BaseMessage

from bot.core.records import RecentHistory, StoredMessage

CHARS_PER_TOKEN = 4
TOKENS_PER_MESSAGE = 3


def estimate_tokens(text: str) -> int:
    return -(-len(text) // CHARS_PER_TOKEN) + TOKENS_PER_MESSAGE


def count_tokens(messages: Sequence[BaseMessage]) -> int:
    """The estimate for chat messages (LangChain's `trim_messages` token counter)."""
    return sum(estimate_tokens(message.text) for message in messages)


def take_within_budget(newest_first: Iterable[StoredMessage], budget: int) -> RecentHistory:
    """The newest messages whose estimates fit `budget`, oldest first.

    Stops pulling from `newest_first` at the first message that does not fit (a lazy reader
    stops paging there), so the history handed on is always an unbroken tail of the thread.
    """
    taken: list[StoredMessage] = []
    spent = 0
    for message in newest_first:
        cost = estimate_tokens(message.text)
        if spent + cost > budget:
            return RecentHistory(taken[::-1], has_older=True)
        taken.append(message)
        spent += cost
    return RecentHistory(taken[::-1], has_older=False)


def take_oldest_within_budget(
    oldest_first: Iterable[StoredMessage], budget: int
) -> tuple[list[StoredMessage], str]:
    """The oldest messages whose estimates fit `budget` (at least one), and the key of the
    first one that did not fit ("": none was left)."""
    taken: list[StoredMessage] = []
    spent = 0
    for message in oldest_first:
        spent += estimate_tokens(message.text)
        if taken and spent > budget:
            return taken, message.key
        taken.append(message)
    return taken, ""
