"""LangChain's `BaseChatMessageHistory` over any MessageStore, so the store drops into
LangChain code (RunnableWithMessageHistory and friends) unchanged."""

from __future__ import annotations

from collections.abc import Sequence

from langchain_core.chat_history import BaseChatMessageHistory
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage

from bot.core.ports import MessageStore
from bot.core.records import Role, StoredMessage, sort_key, synthetic_ts


def to_langchain(stored: StoredMessage) -> BaseMessage:
    """The message as LangChain sees it: the author's name in `name`, the sort key in `id`."""
    kind = HumanMessage if stored.role == "human" else AIMessage
    return kind(content=stored.text, name=stored.author_name or None, id=stored.key)


def from_langchain(message: BaseMessage, *, ts: str) -> StoredMessage:
    role = _ROLES.get(message.type)
    if role is None:
        raise ValueError(f"only human and AI messages can be stored, not {message.type!r}")
    return StoredMessage(sort_key(ts), role, message.text, author_name=message.name or "")


_ROLES: dict[str, Role] = {"human": "human", "ai": "ai"}


class SessionHistory(BaseChatMessageHistory):
    """One session's messages; each added message becomes its own record."""

    def __init__(self, store: MessageStore, session_id: str) -> None:
        self.store = store
        self.session_id = session_id

    @property
    def messages(self) -> list[BaseMessage]:  # type: ignore[override]
        return [to_langchain(stored) for stored in self.store.all(self.session_id)]

    def add_messages(self, messages: Sequence[BaseMessage]) -> None:
        # Sorting fresh ts values keeps the batch in order even within one microsecond.
        stamps = sorted(synthetic_ts() for _ in messages)
        stored = [from_langchain(message, ts=ts) for message, ts in zip(messages, stamps, strict=True)]
        self.store.append(self.session_id, stored)

    def clear(self) -> None:
        self.store.forget(self.session_id)
