"""Event claims: each Slack event is answered once, however often and wherever it arrives.

Slack delivers at least once (retries, sometimes concurrent) and replicas may both receive an
event. A claim record moves IN_PROGRESS → DONE like AWS Powertools' idempotency records: a
claim whose worker died (still IN_PROGRESS after `takeover_seconds`) may be taken over, and
every record expires after `ttl_seconds`. Claiming several keys (event id, channel + ts) is
all or nothing. On DynamoDB a turn costs two requests: one TransactWriteItems claims every
key (conditional puts that succeed or fail together), one BatchWriteItem marks them DONE.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import ClientError

from bot.core.ports import ClaimState
from bot.store.batch import put_items
from bot.store.errors import dynamodb_errors, error_code
from bot.store.sqlite_db import SQLiteDatabase

IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
CLAIM_PREFIX = "claim#"
CLAIM_SORT_KEY = "claim"
DEFAULT_TTL_SECONDS = 3600
DEFAULT_TAKEOVER_SECONDS = 300
# A claim cancelled only because a concurrent claim of the same keys was in flight is tried
# again, briefly: that other claim may still fail (a third key taken), leaving ours free.
CONFLICT_ATTEMPTS = 3
CONFLICT_BACKOFF_SECONDS = 0.02


def blocking_state(
    status: str, claimed_at: float, expires_at: float, *, now: float, takeover_seconds: float
) -> ClaimState | None:
    """What an existing record means for a new claim: None if it may be taken."""
    if expires_at <= now:
        return None
    if status == DONE:
        return ClaimState.DONE
    if claimed_at < now - takeover_seconds:
        return None  # its worker is presumed dead
    return ClaimState.IN_PROGRESS


class DynamoDBClaimStore:
    """Claims in the history table itself, as items `SessionId=claim#<key>`, `MessageKey=claim`."""

    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        takeover_seconds: int = DEFAULT_TAKEOVER_SECONDS,
        clock: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.takeover_seconds = takeover_seconds
        self.clock = clock
        self.sleep = sleep

    def claim(self, keys: Sequence[str]) -> ClaimState:
        now = self.clock()
        unique = list(dict.fromkeys(keys))
        if len(unique) == 1:
            return self._claim_one(unique[0], now)
        return self._claim_together(unique, now)

    def complete(self, keys: Sequence[str]) -> None:
        now = self.clock()
        items = [self._item(key, DONE, now) for key in dict.fromkeys(keys)]
        with dynamodb_errors(self.table_name, "complete claim"):
            if len(items) == 1:
                self.client.put_item(TableName=self.table_name, Item=items[0])
            else:  # one request for every key; nothing is conditional once the turn is over
                put_items(self.client, self.table_name, items)

    def release(self, keys: Sequence[str]) -> None:
        with dynamodb_errors(self.table_name, "release claim"):
            for key in dict.fromkeys(keys):
                try:
                    self.client.delete_item(
                        TableName=self.table_name,
                        Key=_claim_key(key),
                        ConditionExpression="#status = :in_progress",
                        ExpressionAttributeNames={"#status": "Status"},
                        ExpressionAttributeValues={":in_progress": {"S": IN_PROGRESS}},
                    )
                except ClientError as error:
                    if error_code(error) != "ConditionalCheckFailedException":
                        raise  # else it is DONE (never undone) or already gone

    def _claim_one(self, key: str, now: float) -> ClaimState:
        with dynamodb_errors(self.table_name, "claim"):
            try:
                self.client.put_item(**self._conditional_put(key, now))
                return ClaimState.CLAIMED
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                return _state_of(error.response.get("Item", {}))

    def _claim_together(self, keys: list[str], now: float) -> ClaimState:
        """All keys in one TransactWriteItems: DynamoDB writes every put or none of them."""
        puts = [{"Put": self._conditional_put(key, now)} for key in keys]
        for attempt in range(1, CONFLICT_ATTEMPTS + 1):
            with dynamodb_errors(self.table_name, "claim"):
                try:
                    self.client.transact_write_items(TransactItems=puts)
                    return ClaimState.CLAIMED
                except ClientError as error:
                    if error_code(error) != "TransactionCanceledException":
                        raise
                    reasons = error.response.get("CancellationReasons", [])
                    codes = {reason.get("Code", "None") for reason in reasons}
                    if not codes <= {"None", "ConditionalCheckFailed", "TransactionConflict"}:
                        raise  # throttled, or the table is in trouble: not an answer
                    held = [r for r in reasons if r.get("Code") == "ConditionalCheckFailed"]
                    if held:  # the first key someone holds decides, as in SQLiteClaimStore
                        return _state_of(held[0].get("Item", {}))
            # Only TransactionConflict: another claim of the same keys is being written right
            # now. Its outcome decides ours, so look again once it has landed.
            if attempt < CONFLICT_ATTEMPTS:
                self.sleep(CONFLICT_BACKOFF_SECONDS * attempt)
        return ClaimState.IN_PROGRESS

    def _conditional_put(self, key: str, now: float) -> dict[str, Any]:
        """A put that succeeds only where the key is free: absent, expired or abandoned."""
        return {
            "TableName": self.table_name,
            "Item": self._item(key, IN_PROGRESS, now),
            "ConditionExpression": "attribute_not_exists(SessionId) OR ExpiresAt <= :now "
            "OR (#status = :in_progress AND ClaimedAt < :stale)",
            "ExpressionAttributeNames": {"#status": "Status"},
            "ExpressionAttributeValues": {
                ":now": {"N": str(int(now))},
                ":in_progress": {"S": IN_PROGRESS},
                ":stale": {"N": repr(now - self.takeover_seconds)},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }

    def _item(self, key: str, status: str, now: float) -> dict[str, Any]:
        return {
            **_claim_key(key),
            "Status": {"S": status},
            "ClaimedAt": {"N": repr(now)},
            "ExpiresAt": {"N": str(int(now) + self.ttl_seconds)},
        }


def _state_of(existing: dict[str, Any]) -> ClaimState:
    """What the record that blocked a claim says (ALL_OLD of the failed condition)."""
    return ClaimState.DONE if existing.get("Status", {}).get("S") == DONE else ClaimState.IN_PROGRESS


def _claim_key(key: str) -> dict[str, Any]:
    return {"SessionId": {"S": f"{CLAIM_PREFIX}{key}"}, "MessageKey": {"S": CLAIM_SORT_KEY}}


CLAIMS_SCHEMA = """
CREATE TABLE IF NOT EXISTS claims (
    claim_key TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    claimed_at REAL NOT NULL,
    expires_at REAL NOT NULL
);
"""


class SQLiteClaimStore:
    """Claims in a SQLite file (may be the history file); one transaction claims all keys."""

    def __init__(
        self,
        path: str | Path,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        takeover_seconds: int = DEFAULT_TAKEOVER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db = SQLiteDatabase(path, CLAIMS_SCHEMA)
        self.ttl_seconds = ttl_seconds
        self.takeover_seconds = takeover_seconds
        self.clock = clock

    def claim(self, keys: Sequence[str]) -> ClaimState:
        now = self.clock()
        unique = list(dict.fromkeys(keys))
        with self.db.transaction("claim") as connection:
            for key in unique:
                row = connection.execute(
                    "SELECT status, claimed_at, expires_at FROM claims WHERE claim_key = ?", (key,)
                ).fetchone()
                state = row and blocking_state(
                    *row, now=now, takeover_seconds=self.takeover_seconds
                )
                if state:
                    return state
            self._write(connection, unique, IN_PROGRESS, now)
            connection.execute("DELETE FROM claims WHERE expires_at <= ?", (now,))
        return ClaimState.CLAIMED

    def complete(self, keys: Sequence[str]) -> None:
        with self.db.transaction("complete claim") as connection:
            self._write(connection, list(dict.fromkeys(keys)), DONE, self.clock())

    def release(self, keys: Sequence[str]) -> None:
        with self.db.transaction("release claim") as connection:
            connection.executemany(
                "DELETE FROM claims WHERE claim_key = ? AND status = ?",
                [(key, IN_PROGRESS) for key in keys],
            )

    def _write(self, connection: Any, keys: list[str], status: str, now: float) -> None:
        connection.executemany(
            "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?)",
            [(key, status, now, now + self.ttl_seconds) for key in keys],
        )


class InMemoryClaimStore(SQLiteClaimStore):
    """Claims that live as long as the process: tests and the console."""

    def __init__(
        self,
        *,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
        takeover_seconds: int = DEFAULT_TAKEOVER_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        super().__init__(
            ":memory:", ttl_seconds=ttl_seconds, takeover_seconds=takeover_seconds, clock=clock
        )
