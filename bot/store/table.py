"""Create and check the one DynamoDB table that holds messages and event claims.

Key schema: `SessionId` (partition) and `MessageKey` (sort), on-demand billing, TTL on
`ExpiresAt`. Claims live in the same table under `claim#…` partitions (see claims.py), so an
installation has one table to create, grant and back up.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from bot.store.errors import describe_cause, dynamodb_errors, error_code

PARTITION_KEY = "SessionId"
SORT_KEY = "MessageKey"
TTL_ATTRIBUTE = "ExpiresAt"
CREATE_HINT = "run `python -m bot table create`"
_WAITER = {"Delay": 1, "MaxAttempts": 120}


def create_table(client: Any, name: str) -> bool:
    """Create the table and switch TTL on; return False if it already existed.

    Safe to run twice: an existing table is left as it is, except that TTL is switched on.
    Raises StoreUnavailable (naming the cause) when DynamoDB cannot be reached or refuses.
    """
    with dynamodb_errors(name, "create table"):
        created = _create(client, name)
        client.get_waiter("table_exists").wait(TableName=name, WaiterConfig=_WAITER)
        ensure_ttl(client, name)
    return created


def _create(client: Any, name: str) -> bool:
    try:
        client.create_table(
            TableName=name,
            KeySchema=[
                {"AttributeName": PARTITION_KEY, "KeyType": "HASH"},
                {"AttributeName": SORT_KEY, "KeyType": "RANGE"},
            ],
            AttributeDefinitions=[
                {"AttributeName": PARTITION_KEY, "AttributeType": "S"},
                {"AttributeName": SORT_KEY, "AttributeType": "S"},
            ],
            BillingMode="PAY_PER_REQUEST",
        )
    except ClientError as error:
        if error_code(error) != "ResourceInUseException":
            raise
        return False
    return True


def ensure_ttl(client: Any, name: str) -> None:
    status = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    if status.get("TimeToLiveStatus") in ("ENABLED", "ENABLING"):
        return
    client.update_time_to_live(
        TableName=name,
        TimeToLiveSpecification={"Enabled": True, "AttributeName": TTL_ATTRIBUTE},
    )


def describe_table_problem(client: Any, name: str, region: str) -> str | None:
    """None if the table is usable; otherwise one line naming the table, region and fix."""
    where = f"DynamoDB table '{name}' in region {region}"
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return f"DynamoDB table '{name}' does not exist in region {region}: {CREATE_HINT}"
        return f"{where} cannot be checked: {describe_cause(error)}"
    except BotoCoreError as error:
        return f"{where} cannot be reached: {describe_cause(error)}"
    keys = {key["AttributeName"]: key["KeyType"] for key in table.get("KeySchema", [])}
    if keys != {PARTITION_KEY: "HASH", SORT_KEY: "RANGE"}:
        return (
            f"{where} has keys {keys}, but the bot needs {PARTITION_KEY} (HASH) and "
            f"{SORT_KEY} (RANGE): use another table name and {CREATE_HINT}"
        )
    if table.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        return f"{where} is {table.get('TableStatus')}: wait until it is ACTIVE"
    return None
