"""Query items taken from the JSON body (bot/store/raw_items.py) are exactly what botocore's own
parser returns, pages and errors included."""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from bot.core.records import StoredMessage
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.dynamodb_items import PART_TEXT_BYTES
from tests.support.dynamodb_local import DynamoDBLocal

SESSION = "T1:C1:1700000000.000100"


@pytest.fixture
def plain_client(dynamodb_local: DynamoDBLocal) -> Any:
    """A client without the handler: botocore parses everything itself."""
    return boto3.Session(
        aws_access_key_id="fake", aws_secret_access_key="fake", region_name="us-east-1"
    ).client("dynamodb", endpoint_url=dynamodb_local.endpoint_url)


def _fill(store: DynamoDBMessageStore) -> None:
    store.append(SESSION, [
        StoredMessage.human(ts="1700000001.000100", text="Ünïcode ✓ and \"quotes\"",
                            author_id="U1", author_name="Ada"),
        StoredMessage.answer(question_ts="1700000001.000100", text="x" * (PART_TEXT_BYTES + 10),
                             posted_ts="1700000002.000100"),
        StoredMessage("1700000003.000100#0", "human", "with metadata", metadata={"k": "v"}),
    ])


def _query(client: Any, table: str, **extra: Any) -> dict[str, Any]:
    response = client.query(
        TableName=table, KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues={":s": {"S": SESSION}}, ConsistentRead=True, **extra,
    )
    response.pop("ResponseMetadata")
    return response


def test_items_equal_botocores_own_parsing(
    dynamodb_client: Any, plain_client: Any, dynamodb_table: str
) -> None:
    _fill(DynamoDBMessageStore(dynamodb_client, dynamodb_table, ttl_seconds=3600))
    bodies: list[bytes] = []

    def body_botocore_parses(response_dict: dict[str, Any], **_: Any) -> None:
        bodies.append(response_dict["body"])

    # Registered after the bot's handler, so it sees what botocore's parser is left with.
    dynamodb_client.meta.events.register("before-parse.dynamodb.Query", body_botocore_parses)
    try:
        ours = _query(dynamodb_client, dynamodb_table)
    finally:
        dynamodb_client.meta.events.unregister("before-parse.dynamodb.Query", body_botocore_parses)
    assert bodies and b"Items" not in bodies[0]
    theirs = _query(plain_client, dynamodb_table)
    assert ours == theirs
    assert len(ours["Items"]) == 4  # the long answer is two parts
    assert any("M" in item.get("Meta", {}) for item in ours["Items"])


def test_pages_keep_their_last_evaluated_key(
    dynamodb_client: Any, plain_client: Any, dynamodb_table: str
) -> None:
    _fill(DynamoDBMessageStore(dynamodb_client, dynamodb_table, ttl_seconds=3600))
    ours = _query(dynamodb_client, dynamodb_table, Limit=2, ScanIndexForward=False)
    assert ours == _query(plain_client, dynamodb_table, Limit=2, ScanIndexForward=False)
    assert len(ours["Items"]) == 2 and "LastEvaluatedKey" in ours


def test_an_empty_result_has_no_items(dynamodb_client: Any, dynamodb_table: str) -> None:
    assert _query(dynamodb_client, dynamodb_table) == {"Items": [], "Count": 0, "ScannedCount": 0}


def test_errors_are_parsed_by_botocore(dynamodb_client: Any) -> None:
    with pytest.raises(ClientError) as raised:
        _query(dynamodb_client, "no-such-table")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
