"""The two memories the history benchmark compares, driven turn by turn the way a bot uses them.

Ours: `DynamoDBMessageStore` as the bot's conversation core uses it: append the question,
load the newest history within the token budget (`recent`), append the answer.
Baseline: langchain-community's `DynamoDBChatMessageHistory` as a LangChain bot uses it: read
the history (`messages`), then `add_messages([question, answer])`, a read-modify-write of the
one item that holds the whole thread.
"""

from __future__ import annotations

import json
import re
import time
import uuid
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import boto3
from langchain_core.messages import AIMessage, HumanMessage

from bot.config import Settings
from bot.core.records import StoredMessage
from bot.store.aws import make_dynamodb_client
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.table import create_table

with warnings.catch_warnings():  # "langchain-community is being sunset": it is the baseline
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.chat_message_histories import DynamoDBChatMessageHistory

REGION = "us-east-1"
QUESTION_BYTES = 300
ANSWER_BYTES = 2048
TOKEN_BUDGET: int = Settings.model_fields["context_token_budget"].default
TTL_SECONDS = 90 * 86400
WRITE_OPERATIONS = frozenset({"PutItem", "UpdateItem", "BatchWriteItem", "DeleteItem"})
READ_OPERATIONS = frozenset({"GetItem", "Query", "Scan", "BatchGetItem"})

_FILLER = (
    "the quick brown fox jumps over the lazy dog while the team reviews the quarterly "
    "plan and asks the assistant for a summary of the open questions in this thread "
)
_TAG = re.compile(r"^\[(w\d+ t\d+ [qa])\]")


def text_of(size: int, tag: str) -> str:
    """`size` bytes of ASCII text starting with a tag that identifies the message."""
    head = f"[{tag}] "
    body = (_FILLER * (size // len(_FILLER) + 1))[: size - len(head)]
    return head + body


def tags_in(texts: list[str]) -> list[str]:
    return [match.group(1) for text in texts if (match := _TAG.match(text))]


def question(writer: int, turn: int) -> str:
    return text_of(QUESTION_BYTES, f"w{writer} t{turn} q")


def answer(writer: int, turn: int) -> str:
    return text_of(ANSWER_BYTES, f"w{writer} t{turn} a")


def fake_session() -> boto3.Session:
    return boto3.Session(aws_access_key_id="fake", aws_secret_access_key="fake", region_name=REGION)


@dataclass(frozen=True)
class TurnTraffic:
    written: int
    item_bytes: int
    read: int
    write_units: float
    read_units: float


@dataclass(frozen=True)
class TurnCost:
    store_seconds: float
    load_seconds: float


class Traffic:
    """What a client writes and reads, counted at the HTTP layer (botocore events): request
    body bytes of writes, response body bytes of reads, and the capacity units DynamoDB
    reports for each (the client is made to ask for ConsumedCapacity; those few bytes of the
    request are not counted)."""

    def __init__(self, client: Any) -> None:
        self.written = self.item_bytes = self.read = 0
        self.write_units = self.read_units = 0.0
        events = client.meta.events
        events.register("before-parameter-build.dynamodb", self._ask_for_capacity)
        events.register("before-send.dynamodb", self._count_sent)
        events.register("after-call.dynamodb", self._count_received)

    def take(self) -> TurnTraffic:
        """What was counted since the last call."""
        counted = TurnTraffic(
            self.written, self.item_bytes, self.read, self.write_units, self.read_units
        )
        self.written = self.item_bytes = self.read = 0
        self.write_units = self.read_units = 0.0
        return counted

    def _ask_for_capacity(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name in WRITE_OPERATIONS | READ_OPERATIONS:
            params["ReturnConsumedCapacity"] = "TOTAL"

    def _count_sent(self, request: Any, event_name: str, **_: Any) -> None:
        if event_name.rsplit(".", 1)[-1] in WRITE_OPERATIONS and request.body:
            body = json.loads(request.body)
            body.pop("ReturnConsumedCapacity", None)
            self.written += len(json.dumps(body).encode())  # as botocore serializes it
            self.item_bytes += written_item_bytes(body)

    def _count_received(self, http_response: Any, parsed: dict[str, Any], event_name: str,
                        **_: Any) -> None:
        operation = event_name.rsplit(".", 1)[-1]
        consumed = parsed.get("ConsumedCapacity") or []
        units = sum(c.get("CapacityUnits", 0.0)
                    for c in (consumed if isinstance(consumed, list) else [consumed]))
        if operation in WRITE_OPERATIONS:
            self.write_units += units
        elif operation in READ_OPERATIONS:
            self.read += len(http_response.content or b"")
            self.read_units += units


def written_item_bytes(body: dict[str, Any]) -> int:
    """The bytes of item data a write stores, by DynamoDB's item size rules (attribute names
    plus values; what write capacity is billed on): PutItem's item, or UpdateItem's key and
    new values."""
    if "Item" in body:
        return sum(len(name.encode()) + attribute_bytes(v) for name, v in body["Item"].items())
    key = sum(len(name.encode()) + attribute_bytes(v) for name, v in body.get("Key", {}).items())
    values = body.get("ExpressionAttributeValues", {}).values()
    return key + sum(attribute_bytes(v) for v in values)


def attribute_bytes(value: dict[str, Any]) -> int:
    """DynamoDB's size of one attribute value: strings and binary by length, numbers about
    one byte per two digits plus one, lists and maps 3 bytes plus one per element and their
    contents (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html)."""
    (kind, inner), = value.items()
    if kind in ("S", "B"):
        return len(inner.encode()) if kind == "S" else len(inner)
    if kind == "N":
        return len(inner.lstrip("-").replace(".", "")) // 2 + 1 + 1
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "L":
        return 3 + sum(1 + attribute_bytes(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_bytes(v) for k, v in inner.items())
    return sum(len(str(v)) for v in inner)  # string/number sets


class OurThread:
    name = "DynamoDBMessageStore (ours)"

    def __init__(self, store: DynamoDBMessageStore, session_id: str) -> None:
        self.store = store
        self.session_id = session_id

    def turn(self, writer: int, turn: int) -> TurnCost:
        ts = f"{1700000000 + turn}.{writer:06d}"
        asked = StoredMessage.human(ts=ts, text=question(writer, turn), author_id=f"U{writer}")
        answered = StoredMessage.answer(question_ts=ts, text=answer(writer, turn))
        started = time.perf_counter()
        self.store.append(self.session_id, [asked])
        stored = time.perf_counter()
        self.store.recent(self.session_id, token_budget=TOKEN_BUDGET, before_key=asked.key)
        loaded = time.perf_counter()
        self.store.append(self.session_id, [answered])
        done = time.perf_counter()
        return TurnCost(store_seconds=(stored - started) + (done - loaded),
                        load_seconds=loaded - stored)

    def connect(self) -> None:
        """One untimed read, so the first timed turn does not pay for opening a connection."""
        self.store.has_session(self.session_id)

    def tags(self) -> list[str]:
        return tags_in([message.text for message in self.store.all(self.session_id)])


class BaselineThread:
    name = "DynamoDBChatMessageHistory (baseline)"

    def __init__(self, history: DynamoDBChatMessageHistory) -> None:
        self.history = history

    def turn(self, writer: int, turn: int) -> TurnCost:
        started = time.perf_counter()
        _ = self.history.messages
        loaded = time.perf_counter()
        self.history.add_messages([HumanMessage(question(writer, turn)),
                                   AIMessage(answer(writer, turn))])
        done = time.perf_counter()
        return TurnCost(store_seconds=done - loaded, load_seconds=loaded - started)

    def connect(self) -> None:
        _ = self.history.messages

    def tags(self) -> list[str]:
        return tags_in([message.text for message in self.history.messages])


ThreadFactory = Callable[[str], Any]


class Tables:
    """One table per memory in DynamoDB Local, each in the layout its class expects."""

    def __init__(self, endpoint_url: str) -> None:
        self.endpoint_url = endpoint_url
        self.client = self.new_client()
        suffix = uuid.uuid4().hex[:8]
        self.ours = f"bench-ours-{suffix}"
        self.baseline = f"bench-baseline-{suffix}"
        create_table(self.client, self.ours)
        self.client.create_table(
            TableName=self.baseline,
            KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        self.client.get_waiter("table_exists").wait(TableName=self.baseline)

    def new_client(self) -> Any:
        return make_dynamodb_client(
            region=REGION, endpoint_url=self.endpoint_url, session=fake_session()
        )

    def our_thread(self, session_id: str) -> OurThread:
        """A thread with its own client, as a separate bot replica would have."""
        store = DynamoDBMessageStore(self.new_client(), self.ours, ttl_seconds=TTL_SECONDS)
        return OurThread(store, session_id)

    def baseline_thread(self, session_id: str) -> BaselineThread:
        return BaselineThread(DynamoDBChatMessageHistory(
            table_name=self.baseline, session_id=session_id,
            endpoint_url=self.endpoint_url, boto3_session=fake_session(),
        ))

    def drop(self) -> None:
        for name in (self.ours, self.baseline):
            self.client.delete_table(TableName=name)


def client_of(thread: OurThread | BaselineThread) -> Any:
    if isinstance(thread, OurThread):
        return thread.store.client
    return thread.history.table.meta.client
