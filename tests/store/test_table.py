from __future__ import annotations

from typing import Any

import pytest

from bot.core.ports import StoreUnavailable
from bot.store.table import create_table, describe_table_problem
from tests.support.dynamodb_local import DynamoDBLocal, free_port


def test_create_table_twice_returns_false_and_keeps_ttl_on(dynamodb_client: Any) -> None:
    assert create_table(dynamodb_client, "history-twice") is True
    assert create_table(dynamodb_client, "history-twice") is False
    ttl = dynamodb_client.describe_time_to_live(TableName="history-twice")
    assert ttl["TimeToLiveDescription"]["AttributeName"] == "ExpiresAt"
    assert describe_table_problem(dynamodb_client, "history-twice", "us-east-1") is None


def test_missing_table_is_named_with_region_and_fix(dynamodb_client: Any) -> None:
    problem = describe_table_problem(dynamodb_client, "no-such-table", "eu-west-3")
    assert problem == (
        "DynamoDB table 'no-such-table' does not exist in region eu-west-3: "
        "run `python -m bot table create`"
    )


def test_wrong_key_schema_is_reported(dynamodb_client: Any) -> None:
    dynamodb_client.create_table(
        TableName="seed-style",
        KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    problem = describe_table_problem(dynamodb_client, "seed-style", "us-east-1")
    assert problem is not None and "MessageKey (RANGE)" in problem


def test_unreachable_endpoint_is_reported(dynamodb_local: DynamoDBLocal) -> None:
    client = dynamodb_local.client()
    dynamodb_local.stop()
    try:
        problem = describe_table_problem(client, "history", "us-east-1")
    finally:
        dynamodb_local.start()
    assert problem is not None and "cannot be reached: cannot connect to" in problem


def test_create_table_on_an_unreachable_endpoint_names_the_cause() -> None:
    client = DynamoDBLocal(port=free_port()).client()  # nothing listens there
    with pytest.raises(StoreUnavailable, match="'history': create table failed: cannot connect"):
        create_table(client, "history")
