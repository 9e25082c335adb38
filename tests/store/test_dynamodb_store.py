"""What only the DynamoDB backend has: item layout, parts, TTL attribute, AWS failures."""

from __future__ import annotations

from typing import Any

import pytest

from bot.core.ports import StoreUnavailable
from bot.core.records import StoredMessage
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.dynamodb_items import MAX_ITEM_BYTES
from bot.store.table import create_table
from tests.store.conftest import FakeClock
from tests.support.dynamodb_local import DynamoDBLocal, InjectedFault, free_port

SESSION = "T1:C1:1700000000.000100"


def raw_items(client: Any, table: str, session_id: str = SESSION) -> list[dict[str, Any]]:
    response = client.query(
        TableName=table, KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues={":s": {"S": session_id}},
    )
    return list(response["Items"])


@pytest.fixture
def store(dynamodb_client: Any, dynamodb_table: str, clock: FakeClock) -> DynamoDBMessageStore:
    return DynamoDBMessageStore(dynamodb_client, dynamodb_table, ttl_seconds=3600, clock=clock)


def test_one_item_per_message_with_ttl_set(
    store: DynamoDBMessageStore, dynamodb_client: Any, dynamodb_table: str, clock: FakeClock
) -> None:
    store.append(SESSION, [StoredMessage.human(ts="1.5", text="hi", author_name="Ann")])
    (item,) = raw_items(dynamodb_client, dynamodb_table)
    assert item["ExpiresAt"] == {"N": str(int(clock.now) + 3600)}
    assert item["Role"] == {"S": "human"} and item["Text"] == {"S": "hi"}
    assert item["Info"] == {"S": '{"n":"Ann","s":"1.5"}'}  # what a read needs, in one value


def test_items_written_before_info_read_the_same(
    store: DynamoDBMessageStore, dynamodb_client: Any, dynamodb_table: str
) -> None:
    # The layout of the first release: one attribute per field.
    dynamodb_client.put_item(TableName=dynamodb_table, Item={
        "SessionId": {"S": SESSION}, "MessageKey": {"S": "00000000000000001.5#0"},
        "Role": {"S": "human"}, "Text": {"S": "hi"}, "CreatedAt": {"N": "1.0"},
        "AuthorId": {"S": "U1"}, "AuthorName": {"S": "Ann"}, "SlackTs": {"S": "1.5"},
        "Meta": {"M": {"imported_from": {"S": "old"}}},
    })
    (message,) = store.all(SESSION)
    assert (message.text, message.author_id, message.author_name, message.slack_ts) == (
        "hi", "U1", "Ann", "1.5")
    assert message.metadata == {"imported_from": "old"}
    assert store.forget_author("U1").messages == 1


def test_oversized_messages_are_split_into_parts_under_the_item_limit(
    store: DynamoDBMessageStore, dynamodb_client: Any, dynamodb_table: str
) -> None:
    message = StoredMessage.answer(question_ts="1.5", text="ü" * 400_000)  # 800 KB
    store.append(SESSION, [message])
    parts = raw_items(dynamodb_client, dynamodb_table)
    assert [p["MessageKey"]["S"] for p in parts] == [f"{message.key}~p{i:03d}" for i in range(3)]
    assert all(len(p["Text"]["S"].encode()) < MAX_ITEM_BYTES * 0.8 for p in parts)
    assert {p["PartCount"]["N"] for p in parts} == {"3"}


def test_a_message_in_parts_is_written_all_or_nothing(
    store: DynamoDBMessageStore, dynamodb_client: Any, dynamodb_table: str
) -> None:
    messages = [StoredMessage.human(ts="1.5", text="q"),
                StoredMessage.answer(question_ts="1.5", text="a" * 700_000)]
    store.append(SESSION, messages[:1])
    # One TransactWriteItems holds every part: a failed write leaves none of them behind.
    with InjectedFault(dynamodb_client, "TransactWriteItems", "InternalServerError", status=500), \
            pytest.raises(StoreUnavailable):
        store.append(SESSION, messages[1:])
    assert len(raw_items(dynamodb_client, dynamodb_table)) == 1
    assert store.all(SESSION) == messages[:1]
    assert store.append(SESSION, messages) == 1  # the retry writes it whole
    assert store.all(SESSION) == messages


def test_bare_claims_share_the_table_but_not_the_session_list(
    store: DynamoDBMessageStore,
) -> None:
    store.claim("T1:C2:1.0", "1.5#0", message=None, done=True)
    store.append(SESSION, [StoredMessage.human(ts="1.5", text="q")])
    assert store.sessions() == [SESSION]


@pytest.mark.parametrize(
    ("code", "cause"),
    [
        ("ProvisionedThroughputExceededException", "throttled"),
        ("InternalServerError", "DynamoDB internal server error"),
    ],
)
def test_throttling_and_server_errors_become_store_unavailable_after_retries(
    store: DynamoDBMessageStore, dynamodb_client: Any, code: str, cause: str
) -> None:
    status = 500 if code == "InternalServerError" else 400
    with InjectedFault(dynamodb_client, "Query", code, status=status) as fault, \
            pytest.raises(StoreUnavailable, match=f"query failed: {cause}.*{code}"):
        store.recent(SESSION, token_budget=1000)
    assert fault.attempts == 3  # botocore's standard retry mode tried three times


def test_a_transient_throttle_is_retried_transparently(
    store: DynamoDBMessageStore, dynamodb_client: Any
) -> None:
    message = StoredMessage.human(ts="1.5", text="q")
    with InjectedFault(dynamodb_client, "PutItem", "ThrottlingException", times=1) as fault:
        assert store.append(SESSION, [message]) == 1
    assert fault.attempts == 1
    assert store.all(SESSION) == [message]


def test_a_missing_table_is_named(dynamodb_client: Any) -> None:
    store = DynamoDBMessageStore(dynamodb_client, "missing-table", ttl_seconds=0)
    with pytest.raises(StoreUnavailable, match="'missing-table'.*table does not exist"):
        store.append(SESSION, [StoredMessage.human(ts="1.5", text="q")])


def test_an_unreachable_endpoint_is_store_unavailable(dynamodb_local: DynamoDBLocal) -> None:
    client = DynamoDBLocal(port=free_port()).client()  # nothing listens there
    store = DynamoDBMessageStore(client, "history", ttl_seconds=0)
    with pytest.raises(StoreUnavailable, match="cannot connect to http://127.0.0.1"):
        store.has_session(SESSION)
    with pytest.raises(StoreUnavailable, match="write failed: cannot connect"):
        store.claim(SESSION, "1.5#0", message=None)


def test_the_store_recovers_when_dynamodb_comes_back(dynamodb_local: DynamoDBLocal) -> None:
    client = dynamodb_local.client()
    create_table(client, "outage")
    store = DynamoDBMessageStore(client, "outage", ttl_seconds=0)
    dynamodb_local.stop()
    try:
        with pytest.raises(StoreUnavailable):
            store.append(SESSION, [StoredMessage.human(ts="1.5", text="q")])
    finally:
        dynamodb_local.restart()
    create_table(client, "outage")  # in-memory: the restart emptied it
    assert store.append(SESSION, [StoredMessage.human(ts="1.5", text="q")]) == 1


def test_the_connection_pool_follows_worker_threads() -> None:
    from bot.config import Settings
    from bot.wiring import dynamodb_client

    settings = Settings(_env_file=None, worker_threads=7)  # type: ignore[call-arg]
    assert dynamodb_client(settings).meta.config.max_pool_connections == 7
