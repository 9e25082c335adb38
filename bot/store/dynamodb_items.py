"""How a StoredMessage maps to DynamoDB items, including messages split into parts.

DynamoDB refuses items over 400 KB. A message whose item would be larger is written as parts
`<key>~p000`, `<key>~p001`, … each carrying `PartIndex`, `PartCount` and a slice of the text.
`~` sorts after `#`, and no key is a prefix of another, so a message's parts stay together and
in the same place relative to other messages (and `MessageKey < before` still holds for them).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from bot.core.records import Role, SessionState, StoredMessage, padded_ts, ts_of_key

Item = dict[str, Any]

MAX_ITEM_BYTES = 400 * 1024
# Parts stay far below the limit, leaving room for the other attributes and DynamoDB's
# own size accounting (which counts attribute names and some per-value overhead).
PART_TEXT_BYTES = 300 * 1024
PART_MARK = "~p"
# All parts go in one TransactWriteItems (100 items), beside up to two condition checks.
MAX_PARTS = 98
# Items of a session that are not messages sort after every message key ("~" > digits).
STATE_MARK = "~"
BACKFILL_KEY = "~backfill"
FORGOTTEN_KEY = "~forgotten"


def encode_message(
    session_id: str, message: StoredMessage, *, created_at: float, expires_at: int | None
) -> list[Item]:
    """The items to write for `message`: one, or its parts in order."""
    item: Item = {
        "SessionId": {"S": session_id},
        "MessageKey": {"S": message.key},
        "Role": {"S": message.role},
        "Text": {"S": message.text},
        "CreatedAt": {"N": repr(round(created_at, 3))},
    }
    # Empty attributes are left out: every byte of an item is paid for on each write.
    optional = {"AuthorId": message.author_id, "AuthorName": message.author_name,
                "SlackTs": message.slack_ts,
                "EditedTs": padded_ts(message.edited_ts) if message.edited_ts else ""}
    item.update({name: {"S": value} for name, value in optional.items() if value})
    if message.metadata:
        item["Meta"] = {"M": {name: {"S": value} for name, value in message.metadata.items()}}
    if expires_at is not None:
        item["ExpiresAt"] = {"N": str(expires_at)}
    if item_size(item) <= PART_TEXT_BYTES:
        return [item]
    room = PART_TEXT_BYTES - item_size({**item, "Text": {"S": ""}, "PartCount": {"N": "999"}})
    if room < PART_TEXT_BYTES // 2:
        raise ValueError(f"message {message.key} has too much metadata to store")
    slices = split_utf8(message.text, room)
    if len(slices) > MAX_PARTS:
        raise ValueError(f"message {message.key} is too large to store ({len(slices)} parts)")
    return [
        {
            **item,
            "MessageKey": {"S": f"{message.key}{PART_MARK}{index:03d}"},
            "Text": {"S": text},
            "PartIndex": {"N": str(index)},
            "PartCount": {"N": str(len(slices))},
        }
        for index, text in enumerate(slices)
    ]


def decode_messages(items: Iterable[Item], *, now: float) -> Iterator[StoredMessage]:
    """Messages from items in key order (either direction), skipping expired and partial ones
    and tombstones."""
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


def _assemble(group: list[Item], now: float) -> Iterator[StoredMessage]:
    first = group[0]
    if is_expired(first, now=now) or "Deleted" in first:
        return
    if "PartCount" in first:
        parts = sorted(group, key=lambda part: int(part["PartIndex"]["N"]))
        indexes = [int(part["PartIndex"]["N"]) for part in parts]
        if indexes != list(range(int(first["PartCount"]["N"]))):
            return  # still being written (or a writer died mid-way and will be retried)
        text = "".join(str(part["Text"]["S"]) for part in parts)
    else:
        text = str(first["Text"]["S"])
    role: Role = "ai" if first["Role"]["S"] == "ai" else "human"
    yield StoredMessage(
        key=base_key(first),
        role=role,
        text=text,
        author_id=str(first.get("AuthorId", {}).get("S", "")),
        author_name=str(first.get("AuthorName", {}).get("S", "")),
        slack_ts=str(first.get("SlackTs", {}).get("S", "")),
        metadata={k: str(v.get("S", "")) for k, v in first.get("Meta", {}).get("M", {}).items()},
        edited_ts=ts_of_key(first["EditedTs"]["S"]) if "EditedTs" in first else "",
    )


def is_state(item: Item) -> bool:
    return str(item["MessageKey"]["S"]).startswith(STATE_MARK)


def decode_state(items: Iterable[Item], *, now: float) -> SessionState:
    """The session's state from its `~backfill` and `~forgotten` items (either may be absent)."""
    values: dict[str, str] = {}
    for item in items:
        key = item["MessageKey"]["S"]
        if key == BACKFILL_KEY and not is_expired(item, now=now):
            values["backfill"] = str(item.get("Backfill", {}).get("S", ""))
            values["backfill_before"] = str(item.get("BackfillBefore", {}).get("S", ""))
        elif key == FORGOTTEN_KEY and "ForgottenAt" in item:
            values["forgotten_at"] = ts_of_key(item["ForgottenAt"]["S"])
    return SessionState(**values)


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
