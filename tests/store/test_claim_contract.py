"""Exactly once, on every backend: a person's message is its own claim, written in one request,
and its answer completes the claim in one more."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.core.ports import ClaimState, MessageStore
from bot.core.records import StoredMessage, sort_key
from tests.store.conftest import FakeClock

SESSION = "T1:C1:1700000000.000100"
TS = "1700000001.000100"
KEY = sort_key(TS)


def question(text: str = "hello?") -> StoredMessage:
    return StoredMessage.human(ts=TS, text=text, author_id="U1", author_name="Ann")


def answer(text: str = "hi!") -> StoredMessage:
    return StoredMessage.answer(question_ts=TS, text=text, posted_ts="1700000002.000100")


def test_ten_concurrent_claims_of_one_message_give_exactly_one_owner(store: MessageStore) -> None:
    start = threading.Barrier(10)
    results: list[ClaimState] = []

    def claim() -> None:
        start.wait()
        results.append(store.claim(SESSION, KEY, message=question()))

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(state.value for state in results) == ["claimed"] + ["in_progress"] * 9
    assert store.all(SESSION) == [question()]


def test_the_claim_stores_the_question_and_the_answer_completes_it(store: MessageStore) -> None:
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.CLAIMED
    assert store.all(SESSION) == [question()]
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.IN_PROGRESS
    assert store.complete(SESSION, KEY, answer=answer())
    assert store.all(SESSION) == [question(), answer()]
    assert store.claim(SESSION, KEY, message=question("a retry")) is ClaimState.DONE
    assert store.all(SESSION)[0].text == "hello?"
    assert store.complete(SESSION, KEY, answer=answer("again"))  # a retried completion
    assert store.all(SESSION)[1].text == "hi!"


def test_the_answer_completing_a_claim_is_read_back_with_its_metadata(store: MessageStore) -> None:
    """The next turn's window starts where the answer's metadata says (bot.core.prompt)."""
    noted = StoredMessage.answer(question_ts=TS, text="hi!", metadata={"window": KEY})
    store.claim(SESSION, KEY, message=question())
    assert store.complete(SESSION, KEY, answer=noted)

    read = store.recent(SESSION, token_budget=100).messages
    assert read == [question(), noted]
    assert read[1].metadata == {"window": KEY}


def test_a_claim_without_an_answer_is_done_too(store: MessageStore) -> None:
    store.claim(SESSION, KEY, message=question())
    assert store.complete(SESSION, KEY)
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.DONE
    assert store.all(SESSION) == [question()]


def test_a_claim_alone_is_not_a_message(store: MessageStore) -> None:
    assert store.claim(SESSION, KEY, message=None, done=True) is ClaimState.CLAIMED
    assert store.claim(SESSION, KEY, message=None) is ClaimState.DONE
    assert store.all(SESSION) == []
    assert not store.has_session(SESSION)
    assert store.sessions() == []
    assert store.recent(SESSION, token_budget=100).messages == []
    assert not store.edit(SESSION, KEY, text="edited", edited_ts="1800000000.0")
    assert store.delete(SESSION, [KEY]) == 0


def test_a_dead_workers_claim_is_taken_over_after_the_takeover_time(
    make_store: Callable[..., MessageStore], clock: FakeClock
) -> None:
    store = make_store(takeover_seconds=300)
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.CLAIMED
    clock.advance(299)
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.IN_PROGRESS
    clock.advance(2)
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.CLAIMED
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.IN_PROGRESS
    assert store.all(SESSION) == [question()]  # taken over, not doubled


def test_a_bare_claim_expires_after_the_claim_ttl(
    make_store: Callable[..., MessageStore], clock: FakeClock
) -> None:
    store = make_store(claim_ttl_seconds=3600)
    store.claim(SESSION, KEY, message=None, done=True)
    clock.advance(3599)
    assert store.claim(SESSION, KEY, message=None, done=True) is ClaimState.DONE
    clock.advance(2)
    assert store.claim(SESSION, KEY, message=None, done=True) is ClaimState.CLAIMED


def test_a_deleted_question_takes_no_answer_and_is_never_claimed_again(store: MessageStore) -> None:
    store.claim(SESSION, KEY, message=question())
    store.delete(SESSION, [KEY])
    assert not store.complete(SESSION, KEY, answer=answer())
    assert store.all(SESSION) == []
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.DONE


def test_a_forgotten_thread_takes_no_answer_and_no_older_message(store: MessageStore) -> None:
    store.claim(SESSION, KEY, message=question())
    store.forget(SESSION)  # the clock reads 1800000000: after TS
    assert not store.complete(SESSION, KEY, answer=answer())
    assert store.claim(SESSION, KEY, message=question()) is ClaimState.DONE
    assert store.all(SESSION) == []
    later = "1800000100.000100"
    assert store.claim(SESSION, sort_key(later), message=StoredMessage.human(
        ts=later, text="a new start")) is ClaimState.CLAIMED
