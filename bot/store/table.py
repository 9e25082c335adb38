"""Create and check the one DynamoDB table that holds messages and their claims.

Key schema: `SessionId` (partition) and `MessageKey` (sort), on-demand billing, TTL on
`ExpiresAt`. A person's message is its own claim (dynamodb_items.py), so an installation has
one table to create, grant and back up.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

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


@dataclass(frozen=True)
class TableProblem:
    """What is wrong with the table, as one line naming the table, region and the fix (start-up
    errors, `table check`), and the fix alone (`python -m bot doctor`)."""

    line: str
    fix: str

    def __str__(self) -> str:
        return self.line


def describe_table_problem(client: Any, name: str, region: str) -> str | None:
    """None if the table is usable; otherwise one line naming the table, region and fix."""
    problem = find_table_problem(client, name, region)
    return str(problem) if problem else None


def find_table_problem(client: Any, name: str, region: str) -> TableProblem | None:
    """The table's existence, key schema and status, as the bot needs them."""
    where = f"DynamoDB table '{name}' in region {region}"
    try:
        table = client.describe_table(TableName=name)["Table"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":
            return TableProblem(
                f"DynamoDB table '{name}' does not exist in region {region}: {CREATE_HINT}",
                CREATE_HINT,
            )
        return TableProblem(f"{where} cannot be checked: {describe_cause(error)}", _fix_for(error))
    except BotoCoreError as error:
        return TableProblem(f"{where} cannot be reached: {describe_cause(error)}", _fix_for(error))
    keys = {key["AttributeName"]: key["KeyType"] for key in table.get("KeySchema", [])}
    if keys != {PARTITION_KEY: "HASH", SORT_KEY: "RANGE"}:
        return TableProblem(
            f"{where} has keys {keys}, but the bot needs {PARTITION_KEY} (HASH) and "
            f"{SORT_KEY} (RANGE): {_NEW_TABLE_HINT}",
            _NEW_TABLE_HINT,
        )
    types = {
        attribute["AttributeName"]: attribute["AttributeType"]
        for attribute in table.get("AttributeDefinitions", [])
        if attribute["AttributeName"] in keys
    }
    if set(types.values()) != {"S"}:
        return TableProblem(
            f"{where} has key types {types}, but the bot's keys are strings (S): "
            f"{_NEW_TABLE_HINT}",
            _NEW_TABLE_HINT,
        )
    if table.get("TableStatus") not in ("ACTIVE", "UPDATING"):
        wait = "wait until it is ACTIVE"
        return TableProblem(f"{where} is {table.get('TableStatus')}: {wait}", wait)
    return None


def find_ttl_problem(client: Any, name: str, region: str) -> TableProblem | None:
    """Whether DynamoDB deletes expired messages and claims (TTL on ExpiresAt).

    Not a start-up check: without TTL the bot still works, the table just keeps growing.
    """
    where = f"DynamoDB table '{name}' in region {region}"
    try:
        ttl = client.describe_time_to_live(TableName=name)["TimeToLiveDescription"]
    except (ClientError, BotoCoreError) as error:
        return TableProblem(f"{where}: TTL cannot be checked: {describe_cause(error)}",
                            _fix_for(error))
    status, attribute = ttl.get("TimeToLiveStatus"), ttl.get("AttributeName")
    if status not in ("ENABLED", "ENABLING"):
        fix = f"{CREATE_HINT} (it switches TTL on for {TTL_ATTRIBUTE})"
        return TableProblem(
            f"{where} has TTL {str(status).lower()}, so expired messages and claims are never "
            f"deleted: {fix}",
            fix,
        )
    if attribute != TTL_ATTRIBUTE:
        fix = f"switch the table's TTL attribute from {attribute} to {TTL_ATTRIBUTE}"
        return TableProblem(
            f"{where} has TTL on {attribute}, but the bot writes expiry times to "
            f"{TTL_ATTRIBUTE}: {fix}",
            fix,
        )
    return None


_NEW_TABLE_HINT = f"use another table name and {CREATE_HINT}"


def _fix_for(error: Exception) -> str:
    if isinstance(error, NoCredentialsError):
        return "set AWS credentials (AWS_PROFILE, or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)"
    code = error_code(error) if isinstance(error, ClientError) else ""
    if code == "AccessDeniedException":
        return "allow dynamodb:DescribeTable and DescribeTimeToLive in the bot's IAM policy"
    if code in ("UnrecognizedClientException", "ExpiredTokenException"):
        return "renew or correct the AWS credentials"
    return "check the network, AWS_REGION and DYNAMODB_ENDPOINT_URL"
