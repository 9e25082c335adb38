"""DynamoDB Local for the store tests: one server per session, a fresh table per test."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from bot.store.table import create_table
from tests.support.dynamodb_local import DynamoDBLocal


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    server = DynamoDBLocal().start()
    yield server
    server.stop()


@pytest.fixture
def dynamodb_client(dynamodb_local: DynamoDBLocal) -> Any:
    dynamodb_local.start()  # a previous outage test may have left it stopped
    return dynamodb_local.client()


@pytest.fixture
def dynamodb_table(dynamodb_client: Any) -> Iterator[str]:
    """The name of a new, empty history table, deleted after the test."""
    name = f"history-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_client, name)
    yield name
    # The server may have been restarted by an outage test, taking the table with it.
    with contextlib.suppress(Exception):
        dynamodb_client.delete_table(TableName=name)
