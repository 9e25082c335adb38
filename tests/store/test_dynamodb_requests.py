"""Requests per turn on DynamoDB: each one costs the bot CPU and the table a round trip, so a
turn claims in one request, completes in one, and reads a short history in one page."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import pytest

from bot.core.ports import ClaimState
from bot.core.records import StoredMessage
from bot.store.claims import CONFLICT_ATTEMPTS, DONE, DynamoDBClaimStore
from bot.store.dynamodb import DynamoDBMessageStore, recent_page_size
from tests.store.conftest import FakeClock
from tests.support.dynamodb_local import InjectedFault

SESSION = "T1:C1:1700000000.000100"
KEYS = ["event:Ev1", "msg:T1:C1:1700000001.000100"]


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
def claims(dynamodb_client: Any, dynamodb_table: str, clock: FakeClock) -> DynamoDBClaimStore:
    return DynamoDBClaimStore(dynamodb_client, dynamodb_table, clock=clock, sleep=lambda _: None)


def test_claiming_and_completing_two_keys_take_one_request_each(
    claims: DynamoDBClaimStore, requests: Counter[str], dynamodb_client: Any, dynamodb_table: str
) -> None:
    assert claims.claim(KEYS) is ClaimState.CLAIMED
    assert requests == Counter({"TransactWriteItems": 1})
    claims.complete(KEYS)
    assert requests == Counter({"TransactWriteItems": 1, "BatchWriteItem": 1})
    for key in KEYS:
        item = dynamodb_client.get_item(
            TableName=dynamodb_table,
            Key={"SessionId": {"S": f"claim#{key}"}, "MessageKey": {"S": "claim"}},
            ConsistentRead=True,
        )["Item"]
        assert item["Status"] == {"S": DONE} and "ExpiresAt" in item


def test_a_blocked_claim_reports_the_state_of_the_key_that_blocked_it(
    claims: DynamoDBClaimStore,
) -> None:
    assert claims.claim(KEYS[1:]) is ClaimState.CLAIMED
    assert claims.claim(KEYS) is ClaimState.IN_PROGRESS
    assert claims.claim(KEYS[:1]) is ClaimState.CLAIMED  # the failed transaction wrote nothing


def test_a_claim_cancelled_by_a_concurrent_transaction_looks_again(
    claims: DynamoDBClaimStore, dynamodb_client: Any
) -> None:
    with InjectedFault(dynamodb_client, "TransactWriteItems", "TransactionCanceledException",
                       times=1) as conflict:
        assert claims.claim(KEYS) is ClaimState.CLAIMED
    assert conflict.attempts == 1


def test_a_claim_that_keeps_conflicting_is_left_to_the_other_writer(
    claims: DynamoDBClaimStore, dynamodb_client: Any
) -> None:
    with InjectedFault(dynamodb_client, "TransactWriteItems", "TransactionCanceledException"
                       ) as conflict:
        assert claims.claim(KEYS) is ClaimState.IN_PROGRESS
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
