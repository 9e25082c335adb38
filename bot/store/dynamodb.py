"""Thread history in DynamoDB: one item per message, so concurrent writers never collide.

Items live under the session's partition (`SessionId`) with `MessageKey` (Slack ts order) as
sort key. `append` is one conditional PutItem per message: a retried write finds the item
already there and does nothing, and no write ever reads or rewrites another message.

Messages too large for one item (DynamoDB's 400 KB limit) are split into parts, written in
order; a reader skips a message until all its parts are present, so nobody ever sees half
a message (see dynamodb_items.py for the layout). Parts keep everything in one table with one
IAM grant and one TTL; offloading to S3 would add a second store for a case (a single
message over 400 KB) that Slack's own message limits make rare.

Expired items are ignored on read: DynamoDB's TTL deletes them only eventually (and DynamoDB
Local never does), but the history must end at `ExpiresAt` all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from bot.core.records import RecentHistory, StoredMessage
from bot.store.batch import delete_keys
from bot.store.claims import CLAIM_PREFIX
from bot.store.dynamodb_items import (
    Item,
    base_key,
    decode_messages,
    encode_message,
    is_expired,
)
from bot.store.errors import dynamodb_errors, error_code
from bot.store.tokens import take_within_budget

# `recent` sizes its Query pages from the token budget so a thread's history usually comes in
# one request: a conversation with a model averages well over 100 tokens a message (answers
# are long), so budget / 100 messages nearly always spend the budget. Bounded below so a tiny
# budget still reads a useful page, and above because a page ends at 1 MB regardless.
TOKENS_PER_MESSAGE_GUESS = 100
MIN_RECENT_PAGE = 40
MAX_RECENT_PAGE = 1000


def recent_page_size(token_budget: int) -> int:
    return max(MIN_RECENT_PAGE, min(MAX_RECENT_PAGE, token_budget // TOKENS_PER_MESSAGE_GUESS))


class DynamoDBMessageStore:
    def __init__(
        self,
        client: Any,
        table_name: str,
        *,
        ttl_seconds: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.clock = clock

    def append(self, session_id: str, messages: Sequence[StoredMessage]) -> int:
        now = self.clock()
        expires_at = int(now) + self.ttl_seconds if self.ttl_seconds > 0 else None
        new = 0
        for message in messages:
            items = encode_message(session_id, message, created_at=now, expires_at=expires_at)
            wrote = [self._put_if_absent(item) for item in items]
            new += any(wrote)
        return new

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        items = self._query(
            session_id, newest_first=True, before_key=before_key,
            page_size=recent_page_size(token_budget),
        )
        return take_within_budget(decode_messages(items, now=self.clock()), token_budget)

    def all(self, session_id: str) -> list[StoredMessage]:
        items = self._query(session_id, newest_first=False)
        return list(decode_messages(items, now=self.clock()))

    def has_session(self, session_id: str) -> bool:
        # The newest message expires last, so it alone tells whether anything is left.
        newest = next(self._query(session_id, newest_first=True, page_size=1, pages=1), None)
        return newest is not None and not is_expired(newest, now=self.clock())

    def forget(self, session_id: str) -> int:
        items = list(self._query(session_id, newest_first=False, keys_only=True))
        with dynamodb_errors(self.table_name, "forget"):
            delete_keys(self.client, self.table_name, [_primary_key(item) for item in items])
        now = self.clock()
        return len({base_key(item) for item in items if not is_expired(item, now=now)})

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        """Session ids by latest write. A full Scan: for operators and the console, not turns."""
        latest: dict[str, float] = {}
        now = self.clock()
        for item in self._scan_sessions(prefix):
            if is_expired(item, now=now):
                continue
            session_id, created_at = item["SessionId"]["S"], float(item["CreatedAt"]["N"])
            latest[session_id] = max(created_at, latest.get(session_id, created_at))
        return sorted(latest, key=lambda session: (-latest[session], session))[:limit]

    def _put_if_absent(self, item: Item) -> bool:
        with dynamodb_errors(self.table_name, "append"):
            try:
                self.client.put_item(
                    TableName=self.table_name,
                    Item=item,
                    ConditionExpression="attribute_not_exists(MessageKey)",
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                return False  # written before (a retry, or a concurrent duplicate)
        return True

    def _query(
        self,
        session_id: str,
        *,
        newest_first: bool,
        before_key: str | None = None,
        page_size: int | None = None,
        pages: int | None = None,
        keys_only: bool = False,
    ) -> Iterator[Item]:
        """Items of the session in key order, fetched lazily one page at a time."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "SessionId = :s",
            "ExpressionAttributeValues": {":s": {"S": session_id}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if before_key is not None:
            request["KeyConditionExpression"] += " AND MessageKey < :before"
            request["ExpressionAttributeValues"][":before"] = {"S": before_key}
        if page_size:
            request["Limit"] = page_size
        if keys_only:
            request["ProjectionExpression"] = "SessionId, MessageKey, PartCount, ExpiresAt"
        fetched = 0
        while True:
            with dynamodb_errors(self.table_name, "query"):
                page = self.client.query(**request)
            yield from page.get("Items", [])
            fetched += 1
            if "LastEvaluatedKey" not in page or (pages is not None and fetched >= pages):
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _scan_sessions(self, prefix: str) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "ProjectionExpression": "SessionId, CreatedAt, ExpiresAt",
            "FilterExpression": "NOT begins_with(SessionId, :claim)",
            "ExpressionAttributeValues": {":claim": {"S": CLAIM_PREFIX}},
        }
        if prefix:
            request["FilterExpression"] += " AND begins_with(SessionId, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        while True:
            with dynamodb_errors(self.table_name, "scan"):
                page = self.client.scan(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def _primary_key(item: Item) -> Item:
    return {"SessionId": item["SessionId"], "MessageKey": item["MessageKey"]}
