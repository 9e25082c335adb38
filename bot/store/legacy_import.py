"""Copy sessions written by LangChain's `DynamoDBChatMessageHistory` into our layout.

The old layout keeps a whole session in one item: partition key `SessionId`, attribute
`History` holding the list LangChain's `messages_to_dict` makes. Here every message becomes
its own record, keyed by its position in that list (see `legacy_key`), so running the import
again finds every record already present and adds nothing, and an interrupted run can simply
be run again.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from langchain_core.messages import BaseMessage, messages_from_dict

from bot.core.ports import MessageStore
from bot.core.records import ANSWER_SLOT, HUMAN_SLOT, Role, StoredMessage, sort_key
from bot.store.errors import dynamodb_errors

LEGACY_KEY_NAME = "SessionId"
LEGACY_HISTORY_ATTRIBUTE = "History"
LEGACY_TTL_ATTRIBUTE = "expireAt"  # DynamoDBChatMessageHistory's default ttl_key_name
IMPORTED_FROM = "imported_from"

_ROLES: dict[str, Role] = {"human": "human", "ai": "ai"}
_deserialize = TypeDeserializer().deserialize


@dataclass
class ImportReport:
    sessions: int = 0
    imported: int = 0
    already_present: int = 0
    skipped: int = 0  # system/tool/unreadable entries: the store keeps people and the bot only
    expired_sessions: int = 0
    forgotten_sessions: int = 0  # forgotten with `history forget` since: they stay forgotten

    def summary(self) -> str:
        return (
            f"sessions: {self.sessions}, messages imported: {self.imported}, "
            f"already present: {self.already_present}, skipped: {self.skipped}, "
            f"expired sessions skipped: {self.expired_sessions}, "
            f"forgotten sessions skipped: {self.forgotten_sessions}"
        )


@dataclass(frozen=True)
class LegacySession:
    session_id: str
    history: list[dict[str, Any]]
    expires_at: float | None


def legacy_key(index: int, role: Role) -> str:
    """The record key for the message at `index` of an old History list.

    A ts-shaped value (`0.000000`, `0.000001`, …) that keeps the old order and sorts before
    every real Slack ts, so messages the bot adds to the same session later come after it.
    """
    ts = f"{index // 1_000_000}.{index % 1_000_000:06d}"
    return sort_key(ts, HUMAN_SLOT if role == "human" else ANSWER_SLOT)


def to_stored_messages(
    history: list[dict[str, Any]], *, source_table: str
) -> tuple[list[StoredMessage], int]:
    """The records for one old History list, and how many entries were left out."""
    stored: list[StoredMessage] = []
    skipped = 0
    for index, entry in enumerate(history):
        message = _read_entry(entry)
        role = _ROLES.get(message.type) if message is not None else None
        if message is None or role is None:
            skipped += 1
            continue
        stored.append(StoredMessage(
            key=legacy_key(index, role),
            role=role,
            text=message.text,
            author_name=message.name or "",
            metadata={IMPORTED_FROM: source_table},
        ))
    return stored, skipped


def read_legacy_sessions(
    client: Any,
    table_name: str,
    *,
    session_id: str | None = None,
    key_name: str = LEGACY_KEY_NAME,
    history_attribute: str = LEGACY_HISTORY_ATTRIBUTE,
    ttl_attribute: str = LEGACY_TTL_ATTRIBUTE,
) -> Iterator[LegacySession]:
    """Every session of the old table (one Scan, page by page), or just `session_id`."""
    names = {"#k": key_name, "#h": history_attribute, "#t": ttl_attribute}
    projection = {"ProjectionExpression": "#k, #h, #t", "ExpressionAttributeNames": names}
    if session_id is not None:
        with dynamodb_errors(table_name, "read legacy session"):
            found = client.get_item(
                TableName=table_name, Key={key_name: {"S": session_id}}, ConsistentRead=True,
                **projection,
            )
        if "Item" in found:
            yield _legacy_session(found["Item"], key_name, history_attribute, ttl_attribute)
        return
    request: dict[str, Any] = {"TableName": table_name, "ConsistentRead": True, **projection}
    while True:
        with dynamodb_errors(table_name, "scan legacy table"):
            page = client.scan(**request)
        for item in page.get("Items", []):
            if history_attribute in item:
                yield _legacy_session(item, key_name, history_attribute, ttl_attribute)
        if "LastEvaluatedKey" not in page:
            return
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def import_legacy(
    client: Any,
    table_name: str,
    store: MessageStore,
    *,
    session_id: str | None = None,
    clock: Callable[[], float] = time.time,
    on_session: Callable[[str, int, int], None] | None = None,
) -> ImportReport:
    """Copy the old table's sessions into `store`; safe to run any number of times.

    Sessions whose old TTL has passed are left out: DynamoDB deletes expired items only
    eventually, and importing one would give it a fresh lease of life. So are sessions
    forgotten in the new store: everything imported would predate the forget.
    `on_session(session_id, imported, already_present)` reports progress.
    """
    report = ImportReport()
    for session in read_legacy_sessions(client, table_name, session_id=session_id):
        if session.expires_at is not None and session.expires_at <= clock():
            report.expired_sessions += 1
            continue
        if store.recent(session.session_id, token_budget=1).state.forgotten_at:
            report.forgotten_sessions += 1
            continue
        stored, skipped = to_stored_messages(session.history, source_table=table_name)
        new = store.append(session.session_id, stored) if stored else 0
        report.sessions += 1
        report.imported += new
        report.already_present += len(stored) - new
        report.skipped += skipped
        if on_session is not None:
            on_session(session.session_id, new, len(stored) - new)
    return report


def _legacy_session(
    item: dict[str, Any], key_name: str, history_attribute: str, ttl_attribute: str
) -> LegacySession:
    history = _deserialize(item[history_attribute]) if history_attribute in item else []
    expires = _deserialize(item[ttl_attribute]) if ttl_attribute in item else None
    return LegacySession(
        session_id=str(_deserialize(item[key_name])),
        history=list(history) if isinstance(history, list) else [],
        expires_at=float(expires) if expires is not None else None,
    )


def _read_entry(entry: Any) -> BaseMessage | None:
    """One `messages_to_dict` entry as a LangChain message, or None if it cannot be read."""
    try:
        return messages_from_dict([entry])[0]
    except (ValueError, KeyError, TypeError):
        return None
