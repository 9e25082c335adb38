"""The conversation core with LangChain's fake chat model and the real SQLite store."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGenerationChunk

from bot import messages as say
from bot.core.conversation import USAGE, Conversation, ThreadUnreadable
from bot.core.ports import StoreUnavailable
from bot.core.records import IncomingMessage, SessionKey, StoredMessage, sort_key
from bot.core.tokens import estimate_tokens
from bot.core.usage import utc_day
from bot.store.sqlite import SQLiteMessageStore
from bot.wiring import FriendlyModelFailures

SESSION = SessionKey("T1", "C1", "100.000001")


class Throttled(Exception):
    """Looks like botocore's ClientError to the classifier: a ThrottlingException code."""

    def __init__(self) -> None:
        super().__init__("ThrottlingException")
        self.response = {"Error": {"Code": "ThrottlingException", "Message": "slow down"}}


class FlakyModel(GenericFakeChatModel):
    """Fails its first `failures` streams before any text, then streams normally."""

    failures: int = 0
    calls: int = 0
    prompts: list[list[BaseMessage]] = []

    def _stream(self, messages: list[BaseMessage], *args: Any, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        self.calls += 1
        self.prompts.append(list(messages))
        if self.calls <= self.failures:
            raise Throttled()
        yield from super()._stream(messages, *args, **kwargs)


class RecordingSink:
    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    def show_status(self) -> None:
        self.events.append(("status", ""))

    def write(self, text: str) -> None:
        self.events.append(("write", text))

    def finish(self, *, note: str = "") -> str:
        self.events.append(("finish", note))
        return "555.000001"

    def fail(self, message: str) -> None:
        self.events.append(("fail", message))

    @property
    def written(self) -> str:
        return "".join(text for kind, text in self.events if kind == "write")


class BrokenStore(SQLiteMessageStore):
    """Stores the question (the claim went through), then the store goes down."""

    def recent(self, session_id: str, **kwargs: Any) -> Any:
        raise StoreUnavailable("DynamoDB unreachable")


def model(*answers: str, failures: int = 0) -> FlakyModel:
    return FlakyModel(messages=iter(AIMessage(a) for a in answers), failures=failures, prompts=[])


class ClaimingConversation(Conversation):
    """Claims each message before answering it, as every caller does (Slack, the console)."""

    def answer(self, message: IncomingMessage, sink: Any, **options: Any) -> Callable[[], None]:
        self.claim(message)
        return super().answer(message, sink, **options)


def conversation(store: Any, chat_model: Any, budget: int = 10_000) -> Conversation:
    return ClaimingConversation(
        store=store, model=chat_model, system_prompt="sys", token_budget=budget,
        failure_policy=FriendlyModelFailures(), sleep=lambda _: None,
    )


def ask(text: str, ts: str) -> IncomingMessage:
    return IncomingMessage(SESSION, ts, "U1", text, "Ana")


@pytest.fixture
def store() -> SQLiteMessageStore:
    return SQLiteMessageStore(":memory:", ttl_seconds=0)


def test_answer_is_streamed_and_both_records_are_stored(store):
    sink = RecordingSink()
    conversation(store, model("Hello there, Ana.")).answer(ask("hi", "200.000001"), sink)
    assert sink.events[0] == ("status", "")
    assert sink.written == "Hello there, Ana."
    assert not [e for e in sink.events if e[0] == "fail"]
    stored = store.all(SESSION.id)
    assert [(m.key, m.role, m.text) for m in stored] == [
        (sort_key("200.000001", "0"), "human", "hi"),
        (sort_key("200.000001", "1"), "ai", "Hello there, Ana."),
    ]
    assert stored[1].slack_ts == "555.000001"


def test_second_turn_sees_the_first(store):
    chat = model("first answer", "second answer")
    bot = conversation(store, chat)
    bot.answer(ask("My name is Lee.", "200.000001"), RecordingSink())
    bot.answer(ask("Do you remember my name?", "300.000001"), RecordingSink())
    second_prompt = [m.text for m in chat.prompts[1]]
    assert second_prompt == ["sys", "My name is Lee.", "first answer", "Do you remember my name?"]


def test_throttled_before_first_word_is_retried(store):
    chat = model("ok now", failures=2)
    sink = RecordingSink()
    conversation(store, chat).answer(ask("hi", "200.000001"), sink)
    assert chat.calls == 3
    assert sink.written == "ok now"


def test_exhausted_retries_end_in_one_friendly_message_and_keep_the_question(store):
    sink = RecordingSink()
    conversation(store, model("never", failures=9)).answer(ask("hi", "200.000001"), sink)
    assert [e for e in sink.events if e[0] == "fail"] == [("fail", say.MODEL_BUSY)]
    assert [m.role for m in store.all(SESSION.id)] == ["human"]


def test_store_outage_ends_in_a_friendly_message_before_the_model_is_called():
    chat = model("never")
    sink = RecordingSink()
    conversation(BrokenStore(":memory:", ttl_seconds=0), chat).answer(ask("hi", "2.0"), sink)
    assert sink.events[-1] == ("fail", say.STORE_DOWN)
    assert chat.calls == 0


def test_note_when_older_messages_were_left_out(store):
    for i in range(1, 31):
        store.append(SESSION.id, [
            StoredMessage.human(ts=f"{i}.000001", text="q" * 400, author_id="U1"),
            StoredMessage.answer(question_ts=f"{i}.000001", text="a" * 400),
        ])
    sink = RecordingSink()
    conversation(store, model("short"), budget=1_000).answer(ask("now?", "99.000001"), sink)
    note = [text for kind, text in sink.events if kind == "finish"][0]
    seen = int(note.split("last ")[1].split(" ")[0])
    assert note == say.context_note(seen)
    assert 0 < seen < 60
    assert store.all(SESSION.id)[-1].text == "short"  # the note is never stored


def test_answers_chunked_by_the_model_are_stored_exactly(store):
    class Chunky(GenericFakeChatModel):
        def _stream(self, messages, *args, **kwargs):
            for piece in ["Hel", "lo ", "", "wor", "ld"]:
                yield ChatGenerationChunk(message=AIMessageChunk(content=piece))

    sink = RecordingSink()
    conversation(store, Chunky(messages=iter([]))).answer(ask("hi", "200.000001"), sink)
    assert store.all(SESSION.id)[-1].text == "Hello world" == sink.written


class ThreadOf:
    """A ThreadHistory holding the given earlier messages, or failing while `broken`."""

    def __init__(self, *earlier: StoredMessage) -> None:
        self.earlier = list(earlier)
        self.broken = False
        self.reads: list[tuple[str, str]] = []

    def earlier_messages(self, session, *, before_ts: str, after_ts: str) -> list[StoredMessage]:
        self.reads.append((before_ts, after_ts))
        if self.broken:
            raise ThreadUnreadable("conversations.replies failed with ratelimited")
        return list(self.earlier)


IN_THREAD = "150.000001"


def in_thread(text: str, ts: str) -> IncomingMessage:
    return IncomingMessage(SessionKey("T1", "C1", "100.000001"), ts, "U1", text, "Ana")


def test_a_thread_joined_part_way_is_read_once_before_its_history(store):
    thread = ThreadOf(StoredMessage.human(ts=IN_THREAD, text="earlier words", author_id="U2",
                                          author_name="Bo"))
    chat_model = model("one", "two")
    chat = conversation(store, chat_model)
    chat.answer(in_thread("first", "200.000001"), RecordingSink(), thread=thread)
    chat.answer(in_thread("second", "300.000001"), RecordingSink(), thread=thread)

    assert thread.reads == [("200.000001", "")]  # the second turn knows it was read
    assert "earlier words" in " ".join(m.text for m in chat_model.prompts[0])


def test_a_failed_read_of_the_thread_is_tried_again_and_the_turn_still_answers(store):
    thread = ThreadOf(StoredMessage.human(ts=IN_THREAD, text="earlier words", author_id="U2"))
    thread.broken = True
    chat_model = model("one", "two", "three")
    chat = conversation(store, chat_model)
    sink = RecordingSink()
    chat.answer(in_thread("first", "200.000001"), sink, thread=thread)
    assert sink.written == "one"
    assert ("finish", say.THREAD_UNREAD) in sink.events
    thread.broken = False
    chat.answer(in_thread("second", "300.000001"), RecordingSink(), thread=thread)
    chat.answer(in_thread("third", "400.000001"), RecordingSink(), thread=thread)

    # Read again up to the message that started it, then never again.
    assert thread.reads == [("200.000001", ""), ("200.000001", "")]
    assert [m.text for m in store.all(SESSION.id)][:3] == ["earlier words", "first", "one"]
    assert "earlier words" in " ".join(m.text for m in chat_model.prompts[1])


def test_a_thread_whose_first_mention_was_only_remembered_is_read_on_the_next_answer(store):
    thread = ThreadOf(StoredMessage.human(ts=IN_THREAD, text="earlier words", author_id="U2"))
    chat_model = model("one")
    chat = conversation(store, chat_model)
    # Over a rate limit or the daily cap: remembered, not answered, the thread not read.
    chat.claim(in_thread("first", "200.000001"), remember=True, done=True)
    chat.answer(in_thread("second", "300.000001"), RecordingSink(), thread=thread)

    assert thread.reads == [("300.000001", "")]
    assert [m.text for m in store.all(SESSION.id)] == ["earlier words", "first", "second", "one"]
    assert "earlier words" in " ".join(m.text for m in chat_model.prompts[0])


def test_a_thread_the_bot_started_at_its_first_message_is_never_read(store):
    thread = ThreadOf(StoredMessage.human(ts=IN_THREAD, text="earlier words", author_id="U2"))
    chat = conversation(store, model("one"))
    chat.claim(in_thread("the root", SESSION.thread_ts), remember=True, done=True)
    chat.answer(in_thread("second", "300.000001"), RecordingSink(), thread=thread)
    assert thread.reads == []


def test_a_forget_while_the_thread_is_read_keeps_everything_before_it_forgotten(store):
    class ForgottenWhileRead(ThreadOf):
        def earlier_messages(self, session, *, before_ts: str, after_ts: str) -> list[StoredMessage]:
            read = super().earlier_messages(session, before_ts=before_ts, after_ts=after_ts)
            store.forget(SESSION.id)  # `history forget` from another process, mid-read
            return read

    thread = ForgottenWhileRead(StoredMessage.human(ts=IN_THREAD, text="my token xoxp-1",
                                                    author_id="U2"))
    conversation(store, model("one")).answer(in_thread("first", "200.000001"), RecordingSink(),
                                             thread=thread)
    assert store.all(SESSION.id) == []


def test_an_answer_past_the_stopping_deadline_keeps_what_was_shown(store):
    chat = conversation(store, model("Hello there, this answer goes on and on."))
    chat.finish_answers_by(time.monotonic())  # the process is stopping now
    sink = RecordingSink()
    chat.answer(ask("hi", "200.000001"), sink)

    shown = sink.written
    assert shown and shown != "Hello there, this answer goes on and on."
    assert sink.events[-1] == ("fail", say.INTERRUPTED)
    question, answer = store.all(SESSION.id)
    assert (answer.text, answer.metadata["status"]) == (shown, "interrupted")
    # The cut stream reported no usage: what was sent and shown is estimated, and counted.
    used = json.loads(answer.metadata[USAGE])
    assert used["in"] > 0 and used["out"] == estimate_tokens(shown)
    (row,) = store.usage([utc_day(time.time())])
    assert (row.answers, row.usage.output_tokens) == (1, estimate_tokens(shown))
