"""How a StoredMessage maps to DynamoDB items, including messages split into parts.

Values go through boto3's TypeSerializer and TypeDeserializer. DynamoDB refuses items over
400 KB: a message whose item would be larger is written as parts `<key>~p000`, `<key>~p001`, …
each carrying `PartIndex`, `PartCount` and a slice of the text. `~` sorts after `#`, and no key
is a prefix of another, so a message's parts stay together and in the same place relative to
other messages (and `MessageKey < before` still holds for them).

A person's message is also its own claim (`ClaimStatus`, `ClaimedAt`): whoever writes it first
answers it. An item without `Role` is a claim only (a message that is answered, or refused,
but not remembered); one with `Deleted` is a tombstone. Neither is read back as a message.

What a history read needs besides the text rides in one JSON attribute, `Info` (author, Slack
ts, metadata): botocore parses a response value by value in Python, so a 100-message read
costs about half as much with five values an item as with nine. Items written before `Info`
(separate `AuthorId`, `AuthorName`, `SlackTs`, `Meta`) read the same.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from bot.core.records import (
    Role,
    SessionState,
    StoredMessage,
    Summary,
    Usage,
    UsageRecord,
    padded_ts,
    ts_of_key,
)

Item = dict[str, Any]

MAX_ITEM_BYTES = 400 * 1024
# Parts stay far below the limit, leaving room for the other attributes and DynamoDB's
# own size accounting (which counts attribute names and some per-value overhead).
PART_TEXT_BYTES = 300 * 1024
PART_MARK = "~p"
# All parts go in one TransactWriteItems (100 items), beside up to two other actions.
MAX_PARTS = 98
# Items of a session that are not messages sort after every message key ("~" > digits).
STATE_MARK = "~"
BACKFILL_KEY = "~backfill"
FORGOTTEN_KEY = "~forgotten"
SUMMARY_KEY = "~summary"
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"

_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def to_item(values: Mapping[str, Any]) -> Item:
    """Python values → DynamoDB's wire format; None and "" values are left out (every byte of
    an item is paid for on each write)."""
    return {name: _serializer.serialize(value) for name, value in values.items()
            if value is not None and value != ""}


def from_item(item: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


def key_of(session_id: str, message_key: str) -> Item:
    return to_item({"SessionId": session_id, "MessageKey": message_key})


def encode_message(
    session_id: str, message: StoredMessage, *, created_at: float, expires_at: int | None,
    claim: str | None = None,
) -> list[Item]:
    """The items to write for `message`: one, or its parts in order. `claim`: the message's
    claim status to write with it (IN_PROGRESS or DONE)."""
    info = {"a": message.author_id, "n": message.author_name, "s": message.slack_ts,
            "m": message.metadata}
    values: dict[str, Any] = {
        "SessionId": session_id,
        "MessageKey": message.key,
        "Role": message.role,
        "Text": message.text,
        "Info": json.dumps({k: v for k, v in info.items() if v}, ensure_ascii=False,
                           separators=(",", ":")),
        "CreatedAt": Decimal(repr(round(created_at, 3))),
        "EditedTs": padded_ts(message.edited_ts) if message.edited_ts else None,
        "ExpiresAt": expires_at,
    }
    if claim is not None:
        values |= {"ClaimStatus": claim, "ClaimedAt": Decimal(repr(created_at))}
    item = to_item(values)
    item["Text"] = {"S": message.text}  # kept even when empty: it is a message
    if item_size(item) <= PART_TEXT_BYTES:
        return [item]
    room = PART_TEXT_BYTES - item_size({**item, "Text": {"S": ""}, "PartCount": {"N": "999"}})
    if room < PART_TEXT_BYTES // 2:
        raise ValueError(f"message {message.key} has too much metadata to store")
    slices = split_utf8(message.text, room)
    if len(slices) > MAX_PARTS:
        raise ValueError(f"message {message.key} is too large to store ({len(slices)} parts)")
    return [
        {**item, **to_item({"MessageKey": f"{message.key}{PART_MARK}{index:03d}", "PartIndex": index,
                            "PartCount": len(slices)}), "Text": {"S": text}}
        for index, text in enumerate(slices)
    ]


def claim_only(
    session_id: str, key: str, *, created_at: float, expires_at: int | None, claim: str
) -> Item:
    """The claim of a message that is not remembered: no role, no text."""
    return to_item({
        "SessionId": session_id, "MessageKey": key, "ClaimStatus": claim,
        "ClaimedAt": Decimal(repr(created_at)), "ExpiresAt": expires_at,
    })


def decode_messages(items: Iterable[Item], *, now: float) -> Iterator[StoredMessage]:
    """Messages from items in key order (either direction), skipping expired and partial ones,
    tombstones and claims."""
    group: list[Item] = []
    for item in items:
        if group and base_key(item) != base_key(group[0]):
            yield from _assemble(group, now)
            group = []
        group.append(item)
    if group:
        yield from _assemble(group, now)


def base_key(item: Item) -> str:
    key = str(item["MessageKey"]["S"])
    return key.rsplit(PART_MARK, 1)[0] if "PartCount" in item else key


def is_expired(item: Item, *, now: float) -> bool:
    return "ExpiresAt" in item and float(item["ExpiresAt"]["N"]) <= now


def is_message(item: Item) -> bool:
    return "Role" in item and "Deleted" not in item


def _assemble(group: list[Item], now: float) -> Iterator[StoredMessage]:
    first = group[0]
    if is_expired(first, now=now) or not is_message(first):
        return
    if "PartCount" in first:
        parts = sorted(group, key=lambda part: int(part["PartIndex"]["N"]))
        indexes = [int(part["PartIndex"]["N"]) for part in parts]
        if indexes != list(range(int(first["PartCount"]["N"]))):
            return  # written all at once, so only an outside delete leaves a part missing
        text = "".join(str(part["Text"]["S"]) for part in parts)
    else:
        text = str(first["Text"]["S"])
    role: Role = "ai" if first["Role"]["S"] == "ai" else "human"
    info = _info(first)
    edited = str(first.get("EditedTs", {}).get("S", ""))
    yield StoredMessage(
        key=base_key(first),
        role=role,
        text=text,
        author_id=str(info.get("a", "")),
        author_name=str(info.get("n", "")),
        slack_ts=str(info.get("s", "")),
        metadata={str(k): str(v) for k, v in (info.get("m") or {}).items()},
        edited_ts=ts_of_key(edited) if edited else "",
    )


def _info(item: Item) -> dict[str, Any]:
    if "Info" in item:
        loaded = json.loads(item["Info"]["S"])
        return loaded if isinstance(loaded, dict) else {}
    # Written before `Info`: one attribute each.
    legacy = from_item({name: item[name] for name in _LEGACY if name in item})
    return {short: legacy[name] for name, short in _LEGACY.items() if name in legacy}


_LEGACY = {"AuthorId": "a", "AuthorName": "n", "SlackTs": "s", "Meta": "m"}
# What a history read asks for: no session id, creation time or claim, which it never uses.
HISTORY_ATTRIBUTES = (
    "MessageKey, #text, #role, Info, ExpiresAt, EditedTs, Deleted, PartCount, PartIndex, "
    "Backfill, BackfillBefore, ForgottenAt, AuthorId, AuthorName, SlackTs, Meta, "
    "Summary, Through, SummaryCount, Gen"
)
HISTORY_NAMES = {"#text": "Text", "#role": "Role"}


def claim_state(item: Mapping[str, Any]) -> str:
    """The claim an existing item holds: a message stored without one (read from the thread,
    imported) counts as handled."""
    return str(item.get("ClaimStatus", {}).get("S", DONE))


def is_state(item: Item) -> bool:
    return str(item["MessageKey"]["S"]).startswith(STATE_MARK)


def decode_state(items: Iterable[Item], *, now: float) -> SessionState:
    """The session's state from its `~backfill`, `~forgotten` and `~summary` items (any may be
    absent)."""
    values: dict[str, Any] = {}
    for item in items:
        key = item["MessageKey"]["S"]
        if key == BACKFILL_KEY and not is_expired(item, now=now):
            values["backfill"] = str(item.get("Backfill", {}).get("S", ""))
            values["backfill_before"] = str(item.get("BackfillBefore", {}).get("S", ""))
        elif key == FORGOTTEN_KEY and "ForgottenAt" in item:
            values["forgotten_at"] = ts_of_key(item["ForgottenAt"]["S"])
        elif key == SUMMARY_KEY:
            values["summary"] = decode_summary(item, now=now)
    return SessionState(**values)


def decode_summary(item: Item, *, now: float) -> Summary:
    """An expired summary keeps its generation: a save over it still needs the same one."""
    generation = int(item.get("Gen", {}).get("N", "0"))
    if is_expired(item, now=now) or "Summary" not in item:
        return Summary(generation=generation)
    return Summary(text=item["Summary"]["S"], through=item.get("Through", {}).get("S", ""),
                   count=int(item.get("SummaryCount", {}).get("N", "0")), generation=generation)


USAGE_PARTITION = "meta#usage#"
# Counter attribute -> Usage field.
USAGE_COUNTERS = {
    "InputTokens": "input_tokens", "OutputTokens": "output_tokens",
    "CacheReadTokens": "cache_read_tokens", "CacheWriteTokens": "cache_write_tokens",
    "LatencyMs": "latency_ms",
}


def usage_key(record: UsageRecord) -> Item:
    """A day's counters live in one partition, one item per person, thread and model, so a
    day's report is one Query and a person's day a Query of their prefix."""
    user = record.user_id or "-"
    return to_item({"SessionId": f"{USAGE_PARTITION}{record.day}",
                    "MessageKey": f"{user}#{record.session_id}#{record.usage.model_id}"})


def decode_usage(item: Item) -> UsageRecord:
    values = from_item(item)
    usage = Usage(model_id=str(values.get("ModelId", "")),
                  **{field: int(values.get(name, 0)) for name, field in USAGE_COUNTERS.items()})
    user = str(values.get("UserId", ""))
    return UsageRecord(day=str(values["SessionId"]).removeprefix(USAGE_PARTITION),
                       session_id=str(values.get("Session", "")), user_id=user,
                       usage=usage, answers=int(values.get("Answers", 0)),
                       summaries=int(values.get("Summaries", 0)))


def item_size(item: Item) -> int:
    """An upper estimate of DynamoDB's size accounting for string, number and map values."""
    return sum(len(name.encode()) + _value_size(value) for name, value in item.items())


def _value_size(value: dict[str, Any]) -> int:
    if "S" in value:
        return len(value["S"].encode())
    if "N" in value:
        return len(value["N"]) + 1
    if "M" in value:
        return 3 + sum(len(k.encode()) + _value_size(v) + 1 for k, v in value["M"].items())
    return 64


def split_utf8(text: str, limit: int) -> list[str]:
    """Slices of `text` of at most `limit` UTF-8 bytes each, never cutting a character."""
    data = text.encode()
    slices: list[str] = []
    start = 0
    while start < len(data):
        end = min(start + limit, len(data))
        while end < len(data) and (data[end] & 0xC0) == 0x80:
            end -= 1  # step back off a continuation byte
        slices.append(data[start:end].decode())
        start = end
    return slices
