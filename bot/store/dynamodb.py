"""Thread history in DynamoDB: one item per message, so concurrent writers never collide.

Items live under the session's partition (`SessionId`) with `MessageKey` (Slack ts order) as
sort key. `append` is one conditional PutItem per message: a retried write finds the item
already there and does nothing, and no write ever reads or rewrites another message. A guarded
append is one TransactWriteItems per message: the same put, plus a ConditionCheck of the
session's forget marker, so nothing from before a `forget` is written back.

Messages too large for one item (DynamoDB's 400 KB limit) are split into parts, written in
order; a reader skips a message until all its parts are present, so nobody ever sees half
a message (see dynamodb_items.py for the layout). Parts keep everything in one table with one
IAM grant and one TTL; offloading to S3 would add a second store for a case (a single
message over 400 KB) that Slack's own message limits make rare.

Besides messages, a session's partition holds `~backfill` (how far the thread was read from
Slack; it expires like the messages) and `~forgotten` (when it was last forgotten; kept for
good), which sort after every message, so the history read gets them first and for free.
A deleted message becomes a tombstone: its key with `Deleted` and no text.

Expired items are ignored on read: DynamoDB's TTL deletes them only eventually (and DynamoDB
Local never does), but the history must end at `ExpiresAt` all the same.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from botocore.exceptions import ClientError

from bot.core.ports import ForgetReport, StoreUnavailable
from bot.core.records import (
    ANSWER_SLOT,
    RecentHistory,
    StoredMessage,
    padded_ts,
    sort_key,
    ts_of_key,
)
from bot.store.batch import delete_keys, put_items
from bot.store.claims import CLAIM_PREFIX
from bot.store.dynamodb_items import (
    BACKFILL_KEY,
    FORGOTTEN_KEY,
    STATE_MARK,
    Item,
    base_key,
    decode_messages,
    decode_state,
    encode_message,
    is_expired,
    is_state,
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
# Partitions that hold no session: event claims, and the people who asked to be forgotten.
FORGOTTEN_AUTHORS = "meta#forgotten-authors"
RESERVED_PREFIXES = (CLAIM_PREFIX, "meta#")
# A guarded write that lost a race with another transaction on the same marker is tried again.
CONFLICT_ATTEMPTS = 3


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

    def append(
        self, session_id: str, messages: Sequence[StoredMessage], *, guarded: bool = False
    ) -> int:
        now = self.clock()
        expires_at = self._expires_at(now)
        new = 0
        for message in messages:
            items = encode_message(session_id, message, created_at=now, expires_at=expires_at)
            if guarded or len(items) > 1:
                new += self._put_together(session_id, message.key, items, guarded=guarded)
            else:
                new += self._put_if_absent(items[0])
        return new

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        # Newest first without an upper bound: the state items come first, in the same page.
        items = self._query(session_id, newest_first=True, page_size=recent_page_size(token_budget))
        state_items: list[Item] = []

        def messages() -> Iterator[Item]:
            for item in items:
                if is_state(item):
                    state_items.append(item)
                elif before_key is None or item["MessageKey"]["S"] < before_key:
                    yield item

        history = take_within_budget(decode_messages(messages(), now=self.clock()), token_budget)
        state = decode_state(state_items, now=self.clock())
        return RecentHistory(history.messages, history.has_older, state)

    def all(self, session_id: str) -> list[StoredMessage]:
        items = self._query(session_id, newest_first=False, below=STATE_MARK)
        return list(decode_messages(items, now=self.clock()))

    def has_session(self, session_id: str) -> bool:
        now = self.clock()
        # The newest live message expires last, so it alone tells whether anything is left;
        # tombstones on top of it are skipped.
        for item in self._query(session_id, newest_first=True, page_size=10, below=STATE_MARK):
            if "Deleted" not in item:
                return not is_expired(item, now=now)
        return False

    def edit(self, session_id: str, key: str, *, text: str, edited_ts: str) -> bool:
        with dynamodb_errors(self.table_name, "edit"):
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=_key(session_id, key),
                    UpdateExpression="SET #text = :text, EditedTs = :edited",
                    ConditionExpression="attribute_exists(MessageKey) AND attribute_not_exists("
                    "Deleted) AND attribute_not_exists(PartCount) AND (attribute_not_exists("
                    "EditedTs) OR EditedTs < :edited)",
                    ExpressionAttributeNames={"#text": "Text"},
                    ExpressionAttributeValues={
                        ":text": {"S": text}, ":edited": {"S": padded_ts(edited_ts)},
                    },
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise
                return False
        return True

    def delete(self, session_id: str, keys: Sequence[str]) -> int:
        deleted = 0
        for key in keys:
            items = [item for item in self._query(session_id, newest_first=False, prefix=key,
                                                  keys_only=True) if base_key(item) == key]
            if not items or any("Deleted" in item for item in items):
                continue
            tombstone: Item = {**_key(session_id, key), "Deleted": {"BOOL": True}}
            if "ExpiresAt" in items[0]:
                tombstone["ExpiresAt"] = items[0]["ExpiresAt"]
            with dynamodb_errors(self.table_name, "delete"):
                self.client.put_item(TableName=self.table_name, Item=tombstone)
                parts = [_primary_key(item) for item in items if item["MessageKey"]["S"] != key]
                delete_keys(self.client, self.table_name, parts)
            deleted += 1
        return deleted

    def mark_backfill(self, session_id: str, *, state: str, before_ts: str) -> None:
        item: Item = {
            **_key(session_id, BACKFILL_KEY),
            "Backfill": {"S": state},
            "BackfillBefore": {"S": before_ts},
        }
        expires_at = self._expires_at(self.clock())
        if expires_at is not None:
            item["ExpiresAt"] = {"N": str(expires_at)}
        with dynamodb_errors(self.table_name, "mark backfill"):
            self.client.put_item(TableName=self.table_name, Item=item)

    def forget(self, session_id: str) -> int:
        # The marker first: a turn that is still answering can no longer write back.
        marker = {**_key(session_id, FORGOTTEN_KEY), "ForgottenAt": {"S": padded_ts(self._now_ts())}}
        with dynamodb_errors(self.table_name, "forget"):
            self.client.put_item(TableName=self.table_name, Item=marker)
        items = [item for item in self._query(session_id, newest_first=False, keys_only=True)
                 if item["MessageKey"]["S"] != FORGOTTEN_KEY]
        with dynamodb_errors(self.table_name, "forget"):
            delete_keys(self.client, self.table_name, [_primary_key(item) for item in items])
        now = self.clock()
        return len({base_key(item) for item in items
                    if not is_state(item) and "Deleted" not in item
                    and not is_expired(item, now=now)})

    def forget_author(self, author_id: str) -> ForgetReport:
        """A full Scan (filtered on AuthorId): forgetting a person is rare, and an index on
        authors would cost a write on every message for it (docs/history-commands.md)."""
        marker = {**_key(FORGOTTEN_AUTHORS, author_id), "ForgottenAt": {"S": padded_ts(self._now_ts())}}
        with dynamodb_errors(self.table_name, "forget author"):
            self.client.put_item(TableName=self.table_name, Item=marker)
        found = list(self._scan(
            projection="SessionId, MessageKey, PartCount, ExpiresAt, Deleted",
            condition="AuthorId = :author", values={":author": {"S": author_id}},
        ))
        now = self.clock()
        messages = {(item["SessionId"]["S"], base_key(item)) for item in found
                    if "Deleted" not in item and not is_expired(item, now=now)}
        answers = {(session, sort_key(ts_of_key(key), ANSWER_SLOT)) for session, key in messages}
        # Tombstones, not plain deletes, so that no late write brings either back. An answer
        # long enough to have parts keeps them until they expire, unreadable behind its
        # tombstone.
        expiry = self._expires_at(now)
        lasting = {"ExpiresAt": {"N": str(expiry)}} if expiry is not None else {}
        tombstones = [{**_key(session, key), "Deleted": {"BOOL": True}, **lasting}
                      for session, key in sorted(messages | answers)]
        parts = [_primary_key(item) for item in found if "PartCount" in item]
        with dynamodb_errors(self.table_name, "forget author"):
            put_items(self.client, self.table_name, tombstones)
            delete_keys(self.client, self.table_name, parts)
        return ForgetReport(messages=len(messages), sessions=len({s for s, _ in messages}))

    def forgotten_authors(self, author_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(author_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            keys = [_key(FORGOTTEN_AUTHORS, author) for author in wanted[start : start + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys, "ConsistentRead": True}}
            while request:
                with dynamodb_errors(self.table_name, "read forgotten authors"):
                    response = self.client.batch_get_item(RequestItems=request)
                for item in response.get("Responses", {}).get(self.table_name, []):
                    found[item["MessageKey"]["S"]] = ts_of_key(item["ForgottenAt"]["S"])
                request = response.get("UnprocessedKeys") or {}
        return found

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        """Session ids by latest write. A full Scan: for operators and the console, not turns."""
        latest: dict[str, float] = {}
        now = self.clock()
        condition = " AND ".join(
            [f"NOT begins_with(SessionId, :reserved{index})" for index in range(len(RESERVED_PREFIXES))]
            + ["attribute_exists(CreatedAt)", "attribute_not_exists(Deleted)"]
            + (["begins_with(SessionId, :prefix)"] if prefix else [])
        )
        values = {f":reserved{index}": {"S": p} for index, p in enumerate(RESERVED_PREFIXES)}
        if prefix:
            values[":prefix"] = {"S": prefix}
        for item in self._scan(projection="SessionId, CreatedAt, ExpiresAt",
                               condition=condition, values=values):
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

    def _put_together(self, session_id: str, key: str, items: list[Item], *, guarded: bool) -> int:
        """A message's items all or nothing, refused where a tombstone holds its key and, when
        guarded, where the forget marker is newer than it."""
        checks = []
        if guarded:
            checks.append({"ConditionCheck": {
                "TableName": self.table_name,
                "Key": _key(session_id, FORGOTTEN_KEY),
                "ConditionExpression": "attribute_not_exists(ForgottenAt) OR ForgottenAt < :ts",
                "ExpressionAttributeValues": {":ts": {"S": padded_ts(ts_of_key(key))}},
            }})
        if len(items) > 1:  # parts: the base key is free unless a tombstone holds it
            checks.append({"ConditionCheck": {
                "TableName": self.table_name, "Key": _key(session_id, key),
                "ConditionExpression": "attribute_not_exists(MessageKey)",
            }})
        puts = [{"Put": {"TableName": self.table_name, "Item": item,
                         "ConditionExpression": "attribute_not_exists(MessageKey)"}}
                for item in items]
        for _ in range(CONFLICT_ATTEMPTS):
            with dynamodb_errors(self.table_name, "append"):
                try:
                    self.client.transact_write_items(TransactItems=[*puts, *checks])
                    return 1
                except ClientError as error:
                    if error_code(error) != "TransactionCanceledException":
                        raise
                    codes = [r.get("Code", "None")
                             for r in error.response.get("CancellationReasons", [])]
                    if "ConditionalCheckFailed" in codes:
                        return 0  # written before, or forgotten since
                    if set(codes) - {"None", "TransactionConflict"}:
                        raise
        raise StoreUnavailable(f"DynamoDB table '{self.table_name}': append failed: "
                               "conflicting writes kept cancelling it")

    def _query(
        self,
        session_id: str,
        *,
        newest_first: bool,
        below: str | None = None,
        prefix: str | None = None,
        page_size: int | None = None,
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
        if below is not None:
            request["KeyConditionExpression"] += " AND MessageKey < :below"
            request["ExpressionAttributeValues"][":below"] = {"S": below}
        if prefix is not None:
            request["KeyConditionExpression"] += " AND begins_with(MessageKey, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        if page_size:
            request["Limit"] = page_size
        if keys_only:
            request["ProjectionExpression"] = "SessionId, MessageKey, PartCount, ExpiresAt, Deleted"
        while True:
            with dynamodb_errors(self.table_name, "query"):
                page = self.client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _scan(self, *, projection: str, condition: str, values: dict[str, Any]) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "ProjectionExpression": projection,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
        }
        while True:
            with dynamodb_errors(self.table_name, "scan"):
                page = self.client.scan(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _expires_at(self, now: float) -> int | None:
        return int(now) + self.ttl_seconds if self.ttl_seconds > 0 else None

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"


def _key(session_id: str, message_key: str) -> Item:
    return {"SessionId": {"S": session_id}, "MessageKey": {"S": message_key}}


def _primary_key(item: Item) -> Item:
    return {"SessionId": item["SessionId"], "MessageKey": item["MessageKey"]}
