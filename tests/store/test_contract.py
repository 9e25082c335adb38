"""One contract, every MessageStore backend: DynamoDB Local and SQLite."""

from __future__ import annotations

import threading
from collections.abc import Callable

import pytest

from bot.core.ports import MessageStore
from bot.core.records import StoredMessage, sort_key
from bot.core.tokens import estimate_tokens
from tests.store.conftest import FakeClock

SESSION = "T1:C1:1700000000.000100"
OTHER = "T1:C2:1700000000.000200"


def human(ts: str, text: str = "", name: str = "Ann") -> StoredMessage:
    return StoredMessage.human(ts=ts, text=text or f"question at {ts}", author_id="U1",
                               author_name=name)


def answer(question_ts: str, text: str = "") -> StoredMessage:
    return StoredMessage.answer(question_ts=question_ts, text=text or f"answer to {question_ts}",
                                posted_ts=question_ts + "9")


def turns(count: int, *, start: int = 1700000001, words: int = 5) -> list[StoredMessage]:
    messages = []
    for index in range(count):
        ts = f"{start + index}.000100"
        messages += [human(ts, "word " * words), answer(ts, "reply " * words)]
    return messages


def test_messages_come_back_in_slack_ts_order_with_answers_after_questions(
    store: MessageStore,
) -> None:
    # Written out of order, with ts of different widths (999999999 < 1700000000).
    written = [answer("1700000002.000100"), human("1700000002.000100"),
               human("999999999.000001"), human("1700000001.000200"),
               answer("1700000001.000200"), human("1700000001.000100")]
    assert store.append(SESSION, written) == 6

    keys = [message.key for message in store.all(SESSION)]
    assert keys == [
        sort_key("999999999.000001"), sort_key("1700000001.000100"),
        sort_key("1700000001.000200"), sort_key("1700000001.000200", "1"),
        sort_key("1700000002.000100"), sort_key("1700000002.000100", "1"),
    ]
    assert [m.key for m in store.recent(SESSION, token_budget=10_000).messages] == keys


def test_every_field_survives_the_round_trip(store: MessageStore) -> None:
    message = StoredMessage("k#0", "human", "héllo 👋", "U1", "Ann", "1.2", {"event_id": "Ev1"})
    store.append(SESSION, [message, StoredMessage("k#1", "ai", "")])
    stored, empty = store.all(SESSION)
    assert (stored, stored.metadata) == (message, {"event_id": "Ev1"})
    assert (empty.role, empty.text) == ("ai", "")


def test_a_retried_append_stores_one_copy(store: MessageStore) -> None:
    first, second = human("1700000001.000100"), human("1700000002.000100")
    assert store.append(SESSION, [first]) == 1
    assert store.append(SESSION, [first]) == 0
    assert store.append(SESSION, [first, second]) == 1
    assert store.all(SESSION) == [first, second]


def test_concurrent_writers_on_one_session_lose_nothing(store: MessageStore) -> None:
    writers, turns_each = 8, 10
    start = threading.Barrier(writers)

    def write(writer: int) -> None:
        start.wait()
        for turn in range(turns_each):
            ts = f"17000{turn:05d}.{writer:06d}"
            store.append(SESSION, [human(ts, name=f"user{writer}"), answer(ts)])

    threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    keys = [message.key for message in store.all(SESSION)]
    assert len(keys) == len(set(keys)) == writers * turns_each * 2
    assert keys == sorted(keys)


def test_recent_keeps_the_newest_messages_within_the_budget(store: MessageStore) -> None:
    messages = turns(30, words=40)
    store.append(SESSION, messages)
    # Room for the newest seven and half of the eighth.
    budget = sum(estimate_tokens(m.text) for m in messages[-7:]) + estimate_tokens(messages[-8].text) // 2

    recent = store.recent(SESSION, token_budget=budget)

    assert recent.messages == messages[-7:]
    assert recent.has_older is True
    assert sum(estimate_tokens(m.text) for m in recent.messages) <= budget


def test_recent_reads_past_one_page_and_reports_no_older_when_all_fit(
    store: MessageStore,
) -> None:
    messages = turns(60)  # 120 messages: several query pages
    store.append(SESSION, messages)
    recent = store.recent(SESSION, token_budget=1_000_000)
    assert (recent.messages, recent.has_older) == (messages, False)


def test_recent_with_a_budget_too_small_for_the_newest_message(store: MessageStore) -> None:
    store.append(SESSION, turns(2, words=100))
    assert store.recent(SESSION, token_budget=10).messages == []
    assert store.recent(SESSION, token_budget=10).has_older is True
    assert store.recent("T1:C9:1.0", token_budget=10).has_older is False


def test_before_key_excludes_that_message_and_everything_after(store: MessageStore) -> None:
    messages = turns(10)
    store.append(SESSION, messages)
    before = messages[8].key
    recent = store.recent(SESSION, token_budget=1_000_000, before_key=before)
    assert recent.messages == messages[:8]
    assert recent.has_older is False


def test_an_oversized_message_is_stored_and_read_back_whole(store: MessageStore) -> None:
    # 600 KB of mixed one-, two- and four-byte characters: over DynamoDB's 400 KB item limit.
    text = ("plain ascii é ü 👍 " * 30_000)[:600_000]
    big = answer("1700000002.000100", text)
    around = [human("1700000002.000100"), big, human("1700000003.000100")]
    assert store.append(SESSION, around) == 3
    assert store.append(SESSION, [big]) == 0

    assert store.all(SESSION) == around
    assert store.all(SESSION)[1].text == text
    recent = store.recent(SESSION, token_budget=1_000_000, before_key=around[2].key)
    assert recent.messages == around[:2]
    assert store.forget(SESSION) == 3


def test_all_reads_past_a_megabyte_of_results(store: MessageStore) -> None:
    messages = [human(f"17000000{i:02d}.000100", f"{i:02d}" + "x" * 60_000) for i in range(30)]
    store.append(SESSION, messages)
    assert store.all(SESSION) == messages


def test_messages_expire_after_the_ttl(make_store: Callable[..., MessageStore],
                                       clock: FakeClock) -> None:
    store = make_store(ttl_seconds=100)
    store.append(SESSION, [human("1700000001.000100")])
    clock.advance(50)
    store.append(SESSION, [human("1700000002.000100")])
    clock.advance(60)  # the first message is 110 s old, the second 60 s

    assert [m.key for m in store.all(SESSION)] == [sort_key("1700000002.000100")]
    assert [m.key for m in store.recent(SESSION, token_budget=10_000).messages] == [
        sort_key("1700000002.000100")
    ]
    assert store.has_session(SESSION) and store.sessions() == [SESSION]
    clock.advance(50)
    assert store.all(SESSION) == []
    assert not store.has_session(SESSION)
    assert store.sessions() == []


def test_a_zero_ttl_keeps_messages_forever(make_store: Callable[..., MessageStore],
                                           clock: FakeClock) -> None:
    store = make_store(ttl_seconds=0)
    store.append(SESSION, [human("1700000001.000100")])
    clock.advance(10 * 365 * 86400)
    assert len(store.all(SESSION)) == 1


def test_forget_deletes_only_that_session(store: MessageStore) -> None:
    store.append(SESSION, turns(20))
    store.append(OTHER, turns(1))
    assert store.has_session(SESSION)

    assert store.forget(SESSION) == 40
    assert not store.has_session(SESSION)
    assert store.all(SESSION) == []
    assert store.forget(SESSION) == 0
    assert len(store.all(OTHER)) == 2


def test_sessions_lists_latest_writes_first(store: MessageStore, clock: FakeClock) -> None:
    for session in ("T1:C1:1.0", "T1:C2:1.0", "T2:C1:1.0"):
        store.append(session, [human("1700000001.000100")])
        clock.advance(1)
    store.append("T1:C1:1.0", [human("1700000002.000100")])

    assert store.sessions() == ["T1:C1:1.0", "T2:C1:1.0", "T1:C2:1.0"]
    assert store.sessions(prefix="T1:") == ["T1:C1:1.0", "T1:C2:1.0"]
    assert store.sessions(limit=1) == ["T1:C1:1.0"]
    assert store.sessions(prefix="T9:") == []


def test_has_session(store: MessageStore) -> None:
    assert not store.has_session(SESSION)
    store.append(SESSION, [human("1700000001.000100")])
    assert store.has_session(SESSION)
    assert not store.has_session(OTHER)


@pytest.mark.parametrize("count", [0, 1])
def test_appending_nothing_or_one(store: MessageStore, count: int) -> None:
    assert store.append(SESSION, turns(1)[:count]) == count
    assert store.has_session(SESSION) is bool(count)


def test_sessions_written_at_the_same_moment_are_listed_by_id(store: MessageStore) -> None:
    for session in ("T1:C3:1.0", "T1:C1:1.0", "T1:C2:1.0"):
        store.append(session, [human("1700000001.000100")])  # the clock does not move
    assert store.sessions() == ["T1:C1:1.0", "T1:C2:1.0", "T1:C3:1.0"]
