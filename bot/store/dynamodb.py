"""Thread history in DynamoDB: one item per message, so concurrent writers never collide.

Items live under the session's partition (`SessionId`) with `MessageKey` (Slack ts order) as
sort key. `append` is one conditional PutItem per message: a retried write finds the item
already there and does nothing, and no write ever reads or rewrites another message. A guarded
append (a thread read from Slack) is one TransactWriteItems per up to 99 messages: the same
puts, plus a ConditionCheck of the session's forget marker, so nothing from before a `forget`
is written back; when any of them is refused, each message is tried on its own.

Messages too large for one item (DynamoDB's 400 KB limit) are split into parts, written in
order; a reader skips a message until all its parts are present, so nobody ever sees half
a message (see dynamodb_items.py for the layout). Parts keep everything in one table with one
IAM grant and one TTL; offloading to S3 would add a second store for a case (a single
message over 400 KB) that Slack's own message limits make rare.

Besides messages, a session's partition holds `~backfill` (how far the thread was read from
Slack; it expires like the messages), `~summary` (what left the window, summarised) and
`~forgotten` (when it was last forgotten; kept for good), which sort after every message, so
the history read gets them first and for free. Partitions named `meta#…` hold no session: a
day's usage counters (`meta#usage#<day>`) and the people who asked to be forgotten
(`meta#forgotten-authors`).
A deleted message becomes a tombstone: its key with `Deleted` and no text.

Expired items are ignored on read: DynamoDB's TTL deletes them only eventually (and DynamoDB
Local never does), but the history must end at `ExpiresAt` all the same.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import Any

from boto3.dynamodb.table import BatchWriter
from botocore.exceptions import ClientError

from bot.core.ports import ClaimState, ForgetReport, StoreUnavailable
from bot.core.records import (
    ANSWER_SLOT,
    RecentHistory,
    StoredMessage,
    Summary,
    UsageRecord,
    padded_ts,
    sort_key,
    ts_of_key,
)
from bot.core.tokens import take_oldest_within_budget, take_within_budget
from bot.core.usage import USAGE_DAYS_KEPT
from bot.store.dynamodb_items import (
    BACKFILL_KEY,
    DONE,
    FORGOTTEN_KEY,
    HISTORY_ATTRIBUTES,
    HISTORY_NAMES,
    IN_PROGRESS,
    PART_MARK,
    STATE_MARK,
    SUMMARY_KEY,
    USAGE_COUNTERS,
    USAGE_PARTITION,
    Item,
    base_key,
    claim_only,
    claim_state,
    decode_messages,
    decode_state,
    decode_usage,
    encode_message,
    is_expired,
    is_message,
    is_state,
    item_size,
    key_of,
    to_item,
    usage_key,
)
from bot.store.errors import dynamodb_errors, error_code

# `recent` sizes its Query pages from the token budget so a thread's history usually comes in
# one request: a conversation with a model averages well over 100 tokens a message (answers
# are long), so budget / 100 messages nearly always spend the budget. Bounded below so a tiny
# budget still reads a useful page, and above because a page ends at 1 MB regardless.
TOKENS_PER_MESSAGE_GUESS = 100
MIN_RECENT_PAGE = 40
MAX_RECENT_PAGE = 1000
# A partition that holds no session: the people who asked to be forgotten.
FORGOTTEN_AUTHORS = "meta#forgotten-authors"
RESERVED_PREFIXES = ("meta#",)
# A guarded write that lost a race with another transaction on the same marker is tried again.
CONFLICT_ATTEMPTS = 3
# DynamoDB's limits on one TransactWriteItems: 100 actions and 4 MB (a margin kept for keys).
TRANSACT_ACTIONS = 100
TRANSACT_BYTES = 4 * 1024 * 1024 - 64 * 1024


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
        claim_ttl_seconds: int = 3600,
        takeover_seconds: int = 300,
    ) -> None:
        self.client = client
        self.table_name = table_name
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.claim_ttl_seconds = claim_ttl_seconds
        self.takeover_seconds = takeover_seconds

    def append(
        self, session_id: str, messages: Sequence[StoredMessage], *, guarded: bool = False
    ) -> int:
        now = self.clock()
        expires_at = self._expires_at(now)
        encoded = [(message, encode_message(session_id, message, created_at=now,
                                            expires_at=expires_at)) for message in messages]
        if guarded and len(encoded) > 1:
            # One transaction may not touch an item twice: a key given twice is written once.
            first: dict[str, tuple[StoredMessage, list[Item]]] = {}
            for message, items in encoded:
                first.setdefault(message.key, (message, items))
            groups = _transactions(list(first.values()))
            return sum(self._put_all_guarded(session_id, group) for group in groups)
        new = 0
        for message, items in encoded:
            if guarded or len(items) > 1:
                new += self._put_together(session_id, message.key, items, guarded=guarded)
            else:
                new += self._put_if_absent(items[0])
        return new

    def claim(
        self, session_id: str, key: str, *, message: StoredMessage | None, done: bool = False
    ) -> ClaimState:
        """One TransactWriteItems: the message as claimed (or a bare claim), where its key is
        free or its claim abandoned, and the forget marker's check. A message too large for one
        item carries its claim on every part (the first one is what completes it)."""
        now = self.clock()
        status = DONE if done else IN_PROGRESS
        if message is None:
            items = [claim_only(session_id, key, created_at=now,
                                expires_at=int(now) + self.claim_ttl_seconds, claim=status)]
        else:
            items = encode_message(session_id, message, created_at=now,
                                   expires_at=self._expires_at(now), claim=status)
        free = {
            "ConditionExpression": "attribute_not_exists(MessageKey) OR ExpiresAt <= :now OR "
            "(ClaimStatus = :taken AND ClaimedAt < :stale)",
            "ExpressionAttributeValues": {
                ":taken": {"S": IN_PROGRESS}, ":stale": {"N": repr(now - self.takeover_seconds)},
                ":now": {"N": str(int(now))},
            },
            "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
        }
        puts = [{"Put": {"TableName": self.table_name, "Item": item, **free}} for item in items]
        checks = [self._not_forgotten(session_id, key)]
        if len(items) > 1:
            checks.append(self._no_tombstone(session_id, key))
        reasons = self._transact(*puts, *checks)
        if reasons is None:
            return ClaimState.CLAIMED
        held = [r for r in reasons[: len(puts)] if r.get("Code") == "ConditionalCheckFailed"]
        if not held:
            return ClaimState.DONE  # before the forget, or deleted: never answered
        return ClaimState.IN_PROGRESS if claim_state(held[0].get("Item") or {}) == IN_PROGRESS \
            else ClaimState.DONE

    def complete(
        self, session_id: str, key: str, *, answer: StoredMessage | None = None,
        usage: UsageRecord | None = None,
    ) -> bool:
        """Mark the claim done, with the answer and its usage written in the same
        TransactWriteItems; False when the answer was not stored (the question is gone, or the
        thread was forgotten)."""
        for claim_key in (key, f"{key}{PART_MARK}000"):  # a question in parts: its first part
            stored = self._complete(session_id, claim_key, answer, usage)
            if stored is not None:
                return stored
        return False

    def _complete(
        self, session_id: str, claim_key: str, answer: StoredMessage | None,
        usage: UsageRecord | None,
    ) -> bool | None:
        """True or False as `complete`; None when no item holds the claim under `claim_key`."""
        done = {"Update": {
            "TableName": self.table_name, "Key": key_of(session_id, claim_key),
            "UpdateExpression": "SET ClaimStatus = :done",
            "ConditionExpression": "attribute_exists(MessageKey) AND attribute_not_exists(Deleted)",
            "ExpressionAttributeValues": {":done": {"S": DONE}},
        }}
        actions: list[dict[str, Any]] = []
        if answer is not None:
            now = self.clock()
            items = encode_message(session_id, answer, created_at=now,
                                   expires_at=self._expires_at(now))
            actions = [{"Put": {"TableName": self.table_name, "Item": item,
                                "ConditionExpression": "attribute_not_exists(MessageKey)"}}
                       for item in items]
            actions.append(self._not_forgotten(session_id, answer.key))
            if usage is not None:
                # Counted only if the answer is stored: a retried completion counts it once.
                actions.append({"Update": self._usage_update(usage)})
        reasons = self._transact(done, *actions)
        if reasons is None:
            return True
        if reasons[0].get("Code") == "ConditionalCheckFailed":
            return None  # no question here (or deleted): the caller looks at the next key
        if reasons[1].get("Code") == "ConditionalCheckFailed" and answer is not None:
            self._transact(done)  # the answer was stored before: a retried completion
            return True
        return False

    def release(self, session_id: str, key: str) -> None:
        with dynamodb_errors(self.table_name, "release"):
            try:
                self.client.update_item(
                    TableName=self.table_name, Key=key_of(session_id, key),
                    UpdateExpression="SET ClaimedAt = :long_ago",
                    ConditionExpression="ClaimStatus = :taken",
                    ExpressionAttributeValues={":long_ago": {"N": "0"},
                                               ":taken": {"S": IN_PROGRESS}},
                )
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise  # else it is done (never undone) or gone

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        # Newest first without an upper bound: the state items come first, in the same page.
        items = self._query(session_id, newest_first=True, page_size=recent_page_size(token_budget),
                            history=True)
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

    def between(
        self, session_id: str, *, from_key: str, before_key: str, token_budget: int
    ) -> tuple[list[StoredMessage], str]:
        # BETWEEN includes its upper end; a key cannot be compared with "".
        items = self._query(session_id, newest_first=False, from_key=from_key or None,
                            below=before_key, page_size=recent_page_size(token_budget),
                            history=True)
        messages = (m for m in decode_messages(items, now=self.clock()) if m.key < before_key)
        return take_oldest_within_budget(messages, token_budget)

    def all(self, session_id: str) -> list[StoredMessage]:
        items = self._query(session_id, newest_first=False, below=STATE_MARK, history=True)
        return list(decode_messages(items, now=self.clock()))

    def has_session(self, session_id: str) -> bool:
        now = self.clock()
        # The newest live message expires last, so it alone tells whether anything is left;
        # tombstones on top of it are skipped.
        for item in self._query(session_id, newest_first=True, page_size=10, below=STATE_MARK):
            if is_message(item):
                return not is_expired(item, now=now)
        return False

    def edit(self, session_id: str, key: str, *, text: str, edited_ts: str) -> bool:
        with dynamodb_errors(self.table_name, "edit"):
            try:
                self.client.update_item(
                    TableName=self.table_name,
                    Key=key_of(session_id, key),
                    UpdateExpression="SET #text = :text, EditedTs = :edited",
                    ConditionExpression="attribute_exists(#role) AND attribute_not_exists("
                    "Deleted) AND attribute_not_exists(PartCount) AND (attribute_not_exists("
                    "EditedTs) OR EditedTs < :edited)",
                    ExpressionAttributeNames={"#text": "Text", "#role": "Role"},
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
            if not any(is_message(item) for item in items):
                continue  # never remembered, or deleted already
            tombstone: Item = {**key_of(session_id, key), "Deleted": {"BOOL": True}}
            if "ExpiresAt" in items[0]:
                tombstone["ExpiresAt"] = items[0]["ExpiresAt"]
            parts = [_primary_key(item) for item in items if item["MessageKey"]["S"] != key]
            self._batch(puts=[tombstone], deletes=parts, action="delete")
            deleted += 1
        return deleted

    def mark_backfill(self, session_id: str, *, state: str, before_ts: str) -> None:
        item: Item = {
            **key_of(session_id, BACKFILL_KEY),
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
        marker = {**key_of(session_id, FORGOTTEN_KEY), "ForgottenAt": {"S": padded_ts(self._now_ts())}}
        with dynamodb_errors(self.table_name, "forget"):
            self.client.put_item(TableName=self.table_name, Item=marker)
        items = [item for item in self._query(session_id, newest_first=False, keys_only=True)
                 if item["MessageKey"]["S"] != FORGOTTEN_KEY]
        self._batch(deletes=[_primary_key(item) for item in items], action="forget")
        now = self.clock()
        return len({base_key(item) for item in items
                    if is_message(item) and not is_expired(item, now=now)})

    def forget_author(self, author_id: str) -> ForgetReport:
        """A full Scan (filtered on the author): forgetting a person is rare, and an index on
        authors would cost a write on every message for it (docs/history-commands.md)."""
        marker = {**key_of(FORGOTTEN_AUTHORS, author_id), "ForgottenAt": {"S": padded_ts(self._now_ts())}}
        with dynamodb_errors(self.table_name, "forget author"):
            self.client.put_item(TableName=self.table_name, Item=marker)
        found = list(self._scan(
            projection="SessionId, MessageKey, PartCount, ExpiresAt, Deleted, #role, UserId, "
                       f"#session, ModelId, {', '.join(USAGE_COUNTERS)}, Answers, Summaries",
            condition="AuthorId = :author OR contains(Info, :mid) OR contains(Info, :last) "
                      "OR UserId = :author",
            values={":author": {"S": author_id},
                    # In Info ({"a":"U1",...}): followed by another key or by the end.
                    ":mid": {"S": f'"a":{json.dumps(author_id)},'},
                    ":last": {"S": f'"a":{json.dumps(author_id)}}}'}},
            names={"#role": "Role", "#session": "Session"},
        ))
        usage_rows = [item for item in found if item["SessionId"]["S"].startswith(USAGE_PARTITION)]
        found = [item for item in found if not item["SessionId"]["S"].startswith(USAGE_PARTITION)]
        now = self.clock()
        messages = {(item["SessionId"]["S"], base_key(item)) for item in found
                    if is_message(item) and not is_expired(item, now=now)}
        answers = {(session, sort_key(ts_of_key(key), ANSWER_SLOT)) for session, key in messages}
        # Tombstones, not plain deletes, so that no late write brings either back. An answer
        # long enough to have parts keeps them until they expire, unreadable behind its
        # tombstone.
        expiry = self._expires_at(now)
        lasting = {"ExpiresAt": {"N": str(expiry)}} if expiry is not None else {}
        tombstones = [{**key_of(session, key), "Deleted": {"BOOL": True}, **lasting}
                      for session, key in sorted(messages | answers)]
        parts = [_primary_key(item) for item in found if "PartCount" in item]
        self._batch(puts=tombstones, deletes=parts, action="forget author")
        for session in sorted({s for s, _ in messages}):
            self._drop_summary(session)
        self._count_as_nobody(usage_rows)
        return ForgetReport(messages=len(messages), sessions=len({s for s, _ in messages}),
                            usage_rows=len(usage_rows))

    def forgotten_authors(self, author_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(author_ids))
        found: dict[str, str] = {}
        for start in range(0, len(wanted), 100):  # BatchGetItem takes 100 keys
            keys = [key_of(FORGOTTEN_AUTHORS, author) for author in wanted[start : start + 100]]
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
            + ["attribute_exists(#role)", "attribute_not_exists(Deleted)"]
            + (["begins_with(SessionId, :prefix)"] if prefix else [])
        )
        values = {f":reserved{index}": {"S": p} for index, p in enumerate(RESERVED_PREFIXES)}
        if prefix:
            values[":prefix"] = {"S": prefix}
        for item in self._scan(projection="SessionId, CreatedAt, ExpiresAt",
                               condition=condition, values=values, names={"#role": "Role"}):
            if is_expired(item, now=now):
                continue
            session_id, created_at = item["SessionId"]["S"], float(item["CreatedAt"]["N"])
            latest[session_id] = max(created_at, latest.get(session_id, created_at))
        return sorted(latest, key=lambda session: (-latest[session], session))[:limit]

    def save_summary(self, session_id: str, summary: Summary) -> bool:
        """One TransactWriteItems: the summary over the generation it was read with, and the
        forget marker's check against the first message it does not cover."""
        item = to_item({
            "SessionId": session_id, "MessageKey": SUMMARY_KEY, "Summary": summary.text,
            "Through": summary.through, "SummaryCount": summary.count, "Gen": summary.generation,
            "ExpiresAt": self._expires_at(self.clock()),
        })
        same = {"ConditionExpression": "attribute_not_exists(Gen) OR Gen = :gen",
                "ExpressionAttributeValues": {":gen": {"N": str(summary.generation)}}}
        put = {"Put": {"TableName": self.table_name, "Item": item, **same}}
        return self._transact(put, self._not_forgotten(session_id, summary.through)) is None

    def invalidate_summary(self, session_id: str, *, changed_key: str) -> None:
        """One UpdateItem that moves the generation on (refusing summaries being built), and
        a second one only if the stored summary covers the changed message; that one moves
        it on again, so a summary read between the two is refused too."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "Key": key_of(session_id, SUMMARY_KEY),
            "UpdateExpression": "ADD Gen :one", "ExpressionAttributeValues": {":one": {"N": "1"}},
            "ReturnValues": "ALL_NEW",
        }
        self._expire_with_thread(request)
        with dynamodb_errors(self.table_name, "invalidate summary"):
            new = self.client.update_item(**request)["Attributes"]
        if "Summary" in new and changed_key < new.get("Through", {}).get("S", ""):
            self._drop_summary(session_id, covering=changed_key)

    def _drop_summary(self, session_id: str, *, covering: str | None = None) -> None:
        """Remove the summary's text (only if it covers `covering`, when given) and move the
        generation on, refusing summaries being built."""
        request: dict[str, Any] = {
            "TableName": self.table_name, "Key": key_of(session_id, SUMMARY_KEY),
            "UpdateExpression": "REMOVE Summary, Through, SummaryCount ADD Gen :one",
            "ExpressionAttributeValues": {":one": {"N": "1"}},
        }
        if covering is not None:
            request["ConditionExpression"] = "Through > :changed"
            request["ExpressionAttributeValues"][":changed"] = {"S": covering}
        self._expire_with_thread(request)
        with dynamodb_errors(self.table_name, "drop summary"):
            try:
                self.client.update_item(**request)
            except ClientError as error:
                if error_code(error) != "ConditionalCheckFailedException":
                    raise  # else a later change has dropped it already

    def _expire_with_thread(self, request: dict[str, Any]) -> None:
        """An update that may create the summary item gives it the thread's expiry."""
        expires_at = self._expires_at(self.clock())
        if expires_at is not None:
            request["UpdateExpression"] += " SET ExpiresAt = if_not_exists(ExpiresAt, :exp)"
            request["ExpressionAttributeValues"][":exp"] = {"N": str(expires_at)}

    def add_usage(self, record: UsageRecord) -> None:
        """One UpdateItem with ADD: DynamoDB adds atomically, so replicas never lose a count."""
        with dynamodb_errors(self.table_name, "add usage"):
            self.client.update_item(**self._usage_update(record))

    def _usage_update(self, record: UsageRecord, *, expires_at: int = 0) -> dict[str, Any]:
        expires_at = expires_at or int(self.clock()) + USAGE_DAYS_KEPT * 86400
        counters = {name: getattr(record.usage, field) for name, field in USAGE_COUNTERS.items()}
        counters |= {"Answers": record.answers, "Summaries": record.summaries}
        adds = {name: value for name, value in counters.items() if value}
        values = {f":{name}": {"N": str(value)} for name, value in adds.items()}
        values |= {":user": {"S": record.user_id}, ":session": {"S": record.session_id},
                   ":model": {"S": record.usage.model_id}, ":exp": {"N": str(expires_at)}}
        update = "SET UserId = :user, #session = :session, ModelId = :model, ExpiresAt = :exp"
        if adds:
            update += " ADD " + ", ".join(f"{name} :{name}" for name in adds)
        return {"TableName": self.table_name, "Key": usage_key(record),
                "UpdateExpression": update, "ExpressionAttributeNames": {"#session": "Session"},
                "ExpressionAttributeValues": values}

    def _count_as_nobody(self, items: Sequence[Item]) -> None:
        """A forgotten person's day counters join the day's anonymous ones (the totals stay
        true for the bill); each move is one transaction, so a rerun never counts one twice."""
        for item in items:
            nobody = replace(decode_usage(item), user_id="")
            expires_at = int(item.get("ExpiresAt", {}).get("N", "0"))
            # Refused only when the row is gone already (moved by a forget running alongside).
            self._transact(
                {"Update": self._usage_update(nobody, expires_at=expires_at)},
                {"Delete": {"TableName": self.table_name, "Key": _primary_key(item),
                            "ConditionExpression": "attribute_exists(SessionId)"}},
            )

    def usage(self, days: Sequence[str], *, user_id: str = "") -> list[UsageRecord]:
        """One Query per day (its partition), or of one person's prefix in it."""
        rows: list[UsageRecord] = []
        prefix = f"{user_id}#" if user_id else None
        for day in days:
            partition = f"{USAGE_PARTITION}{day}"
            rows += [decode_usage(item) for item in self._query(partition, newest_first=False,
                                                               prefix=prefix)]
        return rows

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
        actions = self._puts(session_id, key, items)
        if guarded:
            actions.append(self._not_forgotten(session_id, key))
        return int(self._transact(*actions) is None)

    def _put_all_guarded(self, session_id: str, group: list[tuple[StoredMessage, list[Item]]]) -> int:
        """Messages in one transaction with one check of the forget marker (against the
        earliest of them); if anything is refused (a message already there, a tombstone, a
        forget in between), each message on its own."""
        actions = [action for message, items in group
                   for action in self._puts(session_id, message.key, items)]
        earliest = min((message.key for message, _ in group), key=lambda k: padded_ts(ts_of_key(k)))
        actions.append(self._not_forgotten(session_id, earliest))
        if self._transact(*actions) is None:
            return len(group)
        return sum(self._put_together(session_id, message.key, items, guarded=True)
                   for message, items in group)

    def _puts(self, session_id: str, key: str, items: list[Item]) -> list[dict[str, Any]]:
        """A message's puts where nothing holds their keys, and for parts, where no tombstone
        holds the message's own key."""
        actions = [{"Put": {"TableName": self.table_name, "Item": item,
                            "ConditionExpression": "attribute_not_exists(MessageKey)"}}
                   for item in items]
        if len(items) > 1:
            actions.append(self._no_tombstone(session_id, key))
        return actions

    def _no_tombstone(self, session_id: str, key: str) -> dict[str, Any]:
        """Parts' keys differ from the message's: its base key is free unless a tombstone holds it."""
        return {"ConditionCheck": {
            "TableName": self.table_name, "Key": key_of(session_id, key),
            "ConditionExpression": "attribute_not_exists(MessageKey)",
        }}

    def _not_forgotten(self, session_id: str, key: str) -> dict[str, Any]:
        return {"ConditionCheck": {
            "TableName": self.table_name,
            "Key": key_of(session_id, FORGOTTEN_KEY),
            "ConditionExpression": "attribute_not_exists(ForgottenAt) OR ForgottenAt < :ts",
            "ExpressionAttributeValues": {":ts": {"S": padded_ts(ts_of_key(key))}},
        }}

    def _transact(self, *actions: dict[str, Any]) -> list[dict[str, Any]] | None:
        """Run the actions all or nothing: None when done, else why each was refused (its
        CancellationReasons, one per action). A conflict with another transaction on the same
        items is tried again."""
        for _ in range(CONFLICT_ATTEMPTS):
            with dynamodb_errors(self.table_name, "write"):
                try:
                    self.client.transact_write_items(TransactItems=list(actions))
                    return None
                except ClientError as error:
                    if error_code(error) != "TransactionCanceledException":
                        raise
                    reasons = list(error.response.get("CancellationReasons", []))
                    codes = {r.get("Code", "None") for r in reasons}
                    if "ConditionalCheckFailed" in codes:
                        return reasons
                    if codes - {"None", "TransactionConflict"}:
                        raise
        raise StoreUnavailable(f"DynamoDB table '{self.table_name}': write failed: "
                               "conflicting writes kept cancelling it")

    def _query(
        self,
        session_id: str,
        *,
        newest_first: bool,
        below: str | None = None,
        from_key: str | None = None,
        prefix: str | None = None,
        page_size: int | None = None,
        keys_only: bool = False,
        history: bool = False,
    ) -> Iterator[Item]:
        """Items of the session in key order, fetched lazily one page at a time."""
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "KeyConditionExpression": "SessionId = :s",
            "ExpressionAttributeValues": {":s": {"S": session_id}},
            "ScanIndexForward": not newest_first,
            "ConsistentRead": True,
        }
        if below is not None and from_key is not None:
            request["KeyConditionExpression"] += " AND MessageKey BETWEEN :from AND :below"
            request["ExpressionAttributeValues"] |= {":from": {"S": from_key},
                                                     ":below": {"S": below}}
        elif below is not None:
            request["KeyConditionExpression"] += " AND MessageKey < :below"
            request["ExpressionAttributeValues"][":below"] = {"S": below}
        if prefix is not None:
            request["KeyConditionExpression"] += " AND begins_with(MessageKey, :prefix)"
            request["ExpressionAttributeValues"][":prefix"] = {"S": prefix}
        if page_size:
            request["Limit"] = page_size
        if history:
            request["ProjectionExpression"] = HISTORY_ATTRIBUTES
            request["ExpressionAttributeNames"] = HISTORY_NAMES
        if keys_only:
            request["ProjectionExpression"] = ("SessionId, MessageKey, PartCount, ExpiresAt, "
                                               "Deleted, #role")
            request["ExpressionAttributeNames"] = {"#role": "Role"}
        while True:
            with dynamodb_errors(self.table_name, "query"):
                page = self.client.query(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _scan(
        self, *, projection: str, condition: str, values: dict[str, Any],
        names: dict[str, str] | None = None,
    ) -> Iterator[Item]:
        request: dict[str, Any] = {
            "TableName": self.table_name,
            "ProjectionExpression": projection,
            "FilterExpression": condition,
            "ExpressionAttributeValues": values,
        }
        if names:
            request["ExpressionAttributeNames"] = names
        while True:
            with dynamodb_errors(self.table_name, "scan"):
                page = self.client.scan(**request)
            yield from page.get("Items", [])
            if "LastEvaluatedKey" not in page:
                return
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]

    def _batch(
        self, *, puts: Sequence[Item] = (), deletes: Sequence[Item] = (), action: str
    ) -> None:
        """boto3's BatchWriter: 25 requests per BatchWriteItem, unprocessed ones sent again.
        The items are already in DynamoDB's wire format, so the plain client needs none of the
        resource layer's transformations."""
        if not puts and not deletes:
            return
        with dynamodb_errors(self.table_name, action), BatchWriter(
            self.table_name, self.client, overwrite_by_pkeys=["SessionId", "MessageKey"]
        ) as batch:
            for item in puts:
                batch.put_item(Item=item)
            for key in deletes:
                batch.delete_item(Key=key)

    def _expires_at(self, now: float) -> int | None:
        return int(now) + self.ttl_seconds if self.ttl_seconds > 0 else None

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"


def _primary_key(item: Item) -> Item:
    return {"SessionId": item["SessionId"], "MessageKey": item["MessageKey"]}


def _transactions(
    encoded: list[tuple[StoredMessage, list[Item]]],
) -> Iterator[list[tuple[StoredMessage, list[Item]]]]:
    """Messages grouped in order so that each group, with one marker check, fits one
    TransactWriteItems."""
    group: list[tuple[StoredMessage, list[Item]]] = []
    actions, size = 1, 0
    for message, items in encoded:
        more = len(items) + (1 if len(items) > 1 else 0)
        bytes_ = sum(item_size(item) for item in items)
        if group and (actions + more > TRANSACT_ACTIONS or size + bytes_ > TRANSACT_BYTES):
            yield group
            group, actions, size = [], 1, 0
        group.append((message, items))
        actions, size = actions + more, size + bytes_
    if group:
        yield group
