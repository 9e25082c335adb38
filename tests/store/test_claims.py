"""One contract, every ClaimStore: DynamoDB Local, SQLite and in-memory."""

from __future__ import annotations

import threading
from collections.abc import Callable

from bot.core.ports import ClaimState, ClaimStore
from tests.store.conftest import FakeClock

ClaimsFactory = Callable[..., ClaimStore]


def test_ten_concurrent_claims_of_one_event_give_exactly_one_owner(
    make_claims: ClaimsFactory,
) -> None:
    claims = make_claims()
    start = threading.Barrier(10)
    results: list[ClaimState] = []

    def claim() -> None:
        start.wait()
        results.append(claims.claim(["Ev1", "C1:1700000001.000100"]))

    threads = [threading.Thread(target=claim) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(state.value for state in results) == ["claimed"] + ["in_progress"] * 9


def test_a_completed_claim_is_done_for_good(make_claims: ClaimsFactory) -> None:
    claims = make_claims()
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED
    claims.complete(["Ev1"])
    assert claims.claim(["Ev1"]) is ClaimState.DONE
    claims.release(["Ev1"])  # a release never undoes DONE
    assert claims.claim(["Ev1"]) is ClaimState.DONE


def test_a_released_claim_can_be_taken_again(make_claims: ClaimsFactory) -> None:
    claims = make_claims()
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED
    claims.release(["Ev1"])
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED


def test_a_dead_workers_claim_is_taken_over_after_the_takeover_time(
    make_claims: ClaimsFactory, clock: FakeClock
) -> None:
    claims = make_claims(takeover_seconds=300)
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED
    clock.advance(299)
    assert claims.claim(["Ev1"]) is ClaimState.IN_PROGRESS
    clock.advance(2)
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED
    assert claims.claim(["Ev1"]) is ClaimState.IN_PROGRESS  # the new owner's claim is fresh


def test_done_records_expire_after_the_ttl(make_claims: ClaimsFactory, clock: FakeClock) -> None:
    claims = make_claims(ttl_seconds=3600)
    claims.claim(["Ev1"])
    claims.complete(["Ev1"])
    clock.advance(3599)
    assert claims.claim(["Ev1"]) is ClaimState.DONE
    clock.advance(2)
    assert claims.claim(["Ev1"]) is ClaimState.CLAIMED


def test_claiming_several_keys_is_all_or_nothing(make_claims: ClaimsFactory) -> None:
    claims = make_claims()
    assert claims.claim(["message:C1:1.0"]) is ClaimState.CLAIMED
    # The same message arriving as another event: its second key is taken, so nothing is.
    assert claims.claim(["Ev2", "message:C1:1.0"]) is ClaimState.IN_PROGRESS
    assert claims.claim(["Ev2"]) is ClaimState.CLAIMED


def test_done_wins_over_a_fresh_key(make_claims: ClaimsFactory) -> None:
    claims = make_claims()
    claims.claim(["message:C1:1.0"])
    claims.complete(["message:C1:1.0"])
    assert claims.claim(["Ev2", "message:C1:1.0"]) is ClaimState.DONE
    assert claims.claim(["Ev2"]) is ClaimState.CLAIMED
