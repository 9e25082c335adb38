"""BatchWriteItem puts and deletes, with DynamoDB's partial failures (UnprocessedItems) retried."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

from botocore.exceptions import ClientError

BATCH_SIZE = 25  # DynamoDB's maximum per BatchWriteItem
MAX_ROUNDS = 8


def delete_keys(client: Any, table_name: str, keys: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(keys), BATCH_SIZE):
        requests = [{"DeleteRequest": {"Key": key}} for key in keys[start : start + BATCH_SIZE]]
        _write_all(client, table_name, requests)


def put_items(client: Any, table_name: str, items: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(items), BATCH_SIZE):
        requests = [{"PutRequest": {"Item": item}} for item in items[start : start + BATCH_SIZE]]
        _write_all(client, table_name, requests)


def _write_all(client: Any, table_name: str, requests: list[dict[str, Any]]) -> None:
    pending = {table_name: requests}
    for attempt in range(MAX_ROUNDS):
        response = client.batch_write_item(RequestItems=pending)
        pending = response.get("UnprocessedItems") or {}
        if not pending:
            return
        time.sleep(min(0.05 * 2**attempt, 2.0))  # AWS asks for exponential backoff here
    raise ClientError(
        {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "unprocessed"}},
        "BatchWriteItem",
    )
