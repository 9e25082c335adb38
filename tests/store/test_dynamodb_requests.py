"""Requests per turn on DynamoDB: each one costs the bot CPU and the table a round trip, so a
turn claims (and stores its question) in one request, reads a short history in one page, and
completes (storing its answer and counting its usage) in one."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.ports import ClaimState, StoreUnavailable
from bot.core.records import StoredMessage, Usage, UsageRecord
from bot.store.dynamodb import CONFLICT_ATTEMPTS, DynamoDBMessageStore, recent_page_size
from tests.store.conftest import FakeClock
from tests.support.dynamodb_local import InjectedFault

SESSION = "T1:C1:1700000000.000100"
TS = "1700000001.000100"


@pytest.fixture
def requests(dynamodb_client: Any) -> Iterator[Counter[str]]:
    """DynamoDB operations the client sends, counted as they leave."""
    sent: Counter[str] = Counter()

    def count(model: Any, **_: object) -> None:
        sent[model.name] += 1

    dynamodb_client.meta.events.register("before-call.dynamodb", count)
    yield sent
    dynamodb_client.meta.events.unregister("before-call.dynamodb", count)


@pytest.fixture
def store(dynamodb_client: Any, dynamodb_table: str, clock: FakeClock) -> DynamoDBMessageStore:
    return DynamoDBMessageStore(dynamodb_client, dynamodb_table, ttl_seconds=3600, clock=clock)


def test_a_claim_with_its_question_and_a_completion_with_its_answer_take_one_request_each(
    store: DynamoDBMessageStore, requests: Counter[str]
) -> None:
    question = StoredMessage.human(ts=TS, text="q", author_id="U1")
    assert store.claim(SESSION, question.key, message=question) is ClaimState.CLAIMED
    assert requests == Counter({"TransactWriteItems": 1})
    # The answer, the claim's completion and the day's usage counters: one write.
    assert store.complete(SESSION, question.key,
                          answer=StoredMessage.answer(question_ts=TS, text="a"),
                          usage=UsageRecord("2026-12-02", SESSION, "U1", Usage(10, 2), answers=1))
    assert requests == Counter({"TransactWriteItems": 2})
    assert [row.answers for row in store.usage(["2026-12-02"])] == [1]


def test_a_claim_cancelled_by_a_concurrent_transaction_is_tried_again(
    store: DynamoDBMessageStore, dynamodb_client: Any
) -> None:
    question = StoredMessage.human(ts=TS, text="q")
    with InjectedFault(dynamodb_client, "TransactWriteItems", "TransactionCanceledException",
                       times=1) as conflict:
        assert store.claim(SESSION, question.key, message=question) is ClaimState.CLAIMED
    assert conflict.attempts == 1


def test_a_claim_that_keeps_conflicting_is_a_store_outage(
    store: DynamoDBMessageStore, dynamodb_client: Any
) -> None:
    question = StoredMessage.human(ts=TS, text="q")
    with InjectedFault(dynamodb_client, "TransactWriteItems", "TransactionCanceledException"
                       ) as conflict, pytest.raises(StoreUnavailable, match="conflicting"):
        store.claim(SESSION, question.key, message=question)
    assert conflict.attempts == CONFLICT_ATTEMPTS


def test_a_fifty_turn_history_is_read_in_one_query(
    dynamodb_client: Any, dynamodb_table: str, clock: FakeClock, requests: Counter[str]
) -> None:
    store = DynamoDBMessageStore(dynamodb_client, dynamodb_table, ttl_seconds=3600, clock=clock)
    for turn in range(50):
        ts = f"{1700000001 + turn}.000100"
        store.append(SESSION, [StoredMessage.human(ts=ts, text="a question " * 20),
                               StoredMessage.answer(question_ts=ts, text="an answer " * 80)])
    requests.clear()
    history = store.recent(SESSION, token_budget=24000)
    assert len(history.messages) == 100 and not history.has_older
    assert requests == Counter({"Query": 1})


@pytest.mark.parametrize(("budget", "page"), [(200, 40), (24000, 240), (10**7, 1000)])
def test_the_history_page_grows_with_the_budget_within_bounds(budget: int, page: int) -> None:
    assert recent_page_size(budget) == page
