"""Store test fixtures: a fresh DynamoDB table per test, every backend, a hand-moved clock.

The DynamoDB Local server (`dynamodb_local`, `dynamodb_client`) comes from tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.ports import MessageStore
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.sqlite import SQLiteMessageStore
from bot.store.table import create_table


@pytest.fixture
def dynamodb_table(dynamodb_client: Any) -> Iterator[str]:
    """The name of a new, empty history table, deleted after the test."""
    name = f"history-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_client, name)
    yield name
    # The server may have been restarted by an outage test, taking the table with it.
    with contextlib.suppress(Exception):
        dynamodb_client.delete_table(TableName=name)


class FakeClock:
    """A clock the test moves by hand (TTL and takeover without sleeping)."""

    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


StoreFactory = Callable[..., MessageStore]


@pytest.fixture(params=["dynamodb", "sqlite"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def make_store(
    backend: str, request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> StoreFactory:
    """Build the backend's store; keyword arguments override ttl_seconds and clock."""

    def build(*, ttl_seconds: int = 86400, clock: Callable[[], float] = clock,
              claim_ttl_seconds: int = 3600, takeover_seconds: int = 300) -> MessageStore:
        options = {"claim_ttl_seconds": claim_ttl_seconds, "takeover_seconds": takeover_seconds}
        if backend == "dynamodb":
            client = request.getfixturevalue("dynamodb_client")
            table = request.getfixturevalue("dynamodb_table")
            return DynamoDBMessageStore(client, table, ttl_seconds=ttl_seconds, clock=clock,
                                        **options)
        return SQLiteMessageStore(tmp_path / "db" / "history.sqlite3", ttl_seconds=ttl_seconds,
                                  clock=clock, **options)

    return build


@pytest.fixture
def store(make_store: StoreFactory) -> MessageStore:
    return make_store()
