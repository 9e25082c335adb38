"""LangChain's BaseChatMessageHistory over a real store."""

from __future__ import annotations

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.records import StoredMessage
from bot.store.history import SessionHistory, to_langchain
from bot.store.sqlite import SQLiteMessageStore


@pytest.fixture
def history() -> SessionHistory:
    return SessionHistory(SQLiteMessageStore(":memory:", ttl_seconds=0), "T1:C1:1.0")


def test_plain_langchain_use_keeps_order_and_names(history: SessionHistory) -> None:
    history.add_user_message("hello")
    history.add_messages([AIMessage("hi!"), HumanMessage("who are you?", name="Ann"),
                          AIMessage("Claude.")])

    messages = history.messages
    assert [(type(m), m.content, m.name) for m in messages] == [
        (HumanMessage, "hello", None), (AIMessage, "hi!", None),
        (HumanMessage, "who are you?", "Ann"), (AIMessage, "Claude.", None),
    ]
    assert all(m.id for m in messages)


def test_clear_forgets_the_session(history: SessionHistory) -> None:
    history.add_user_message("hello")
    history.clear()
    assert history.messages == []


def test_only_human_and_ai_messages_are_stored(history: SessionHistory) -> None:
    with pytest.raises(ValueError, match="'system'"):
        history.add_messages([SystemMessage("be nice")])


def test_to_langchain_carries_author_and_key() -> None:
    stored = StoredMessage.human(ts="1.5", text="hi", author_name="Ann")
    message = to_langchain(stored)
    assert (type(message), message.content, message.name, message.id) == (
        HumanMessage, "hi", "Ann", stored.key)
    assert isinstance(to_langchain(StoredMessage.answer(question_ts="1.5", text="a")), AIMessage)
