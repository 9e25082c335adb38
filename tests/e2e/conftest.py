"""Shared by the end-to-end suites: what a person sends (mentions, DMs, clicks), what the table
holds, what Slack was sent. DynamoDB Local, the fakes and the real bot come from tests/conftest.py."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import pytest

from tests.fakes._http import FakeHTTPServer, QuietHandler
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.signing import app_mention, event_callback, message, post_interaction
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import SIGNING_SECRET, BotServer
from tests.support.dynamodb_local import DynamoDBLocal

CHANNEL = "C0CHANNEL"
DM = "D0DM"
# Appends happen every STREAM_BUFFER characters only (never on a timer), so the number of
# chat.appendStream calls, and the fallback's single chat.update, are the same on every run.
STREAM_BUFFER = 400
NEVER = 1_000.0


@pytest.fixture
def process_env(
    fake_slack: FakeSlack, fake_bedrock: FakeBedrock, dynamodb_local: DynamoDBLocal, table_name: str
) -> dict[str, str]:
    """The settings of a bot run as its own process (`python -m bot serve` or `socket`)."""
    return {
        **dynamodb_local.env(),
        "SLACK_API_URL": fake_slack.url,
        "DYNAMODB_TABLE": table_name,
        "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
        "MODEL_PROVIDER": "bedrock",
        "SYSTEM_PROMPT": "You are a test bot.",
        "UPDATE_INTERVAL_SECONDS": "0.05",
    }


def mention(ts: str, text: str, *, user: str = "U_ANA", thread_ts: str | None = None) -> dict:
    event = app_mention(channel=CHANNEL, user=user, text=f"<@U_BOT> {text}", ts=ts, thread_ts=thread_ts)
    return event_callback(event)


def dm_in_thread(ts: str, text: str, *, thread_ts: str, user: str = "U_ANA") -> dict:
    event = message(channel=DM, user=user, text=text, ts=ts, thread_ts=thread_ts, channel_type="im")
    return event_callback(event)


def interact(bot: BotServer, payload: dict[str, Any]) -> tuple[int, str]:
    """A click or shortcut, form-encoded and signed as Slack sends it."""
    return post_interaction(f"{bot.url}/slack/events", payload, SIGNING_SECRET)


@pytest.fixture
def steady_bot(start_bot: Callable[..., BotServer]) -> BotServer:
    return start_bot(stream_buffer_chars=STREAM_BUFFER, update_interval_seconds=NEVER)


class ResponseURL(FakeHTTPServer):
    """Stands in for a shortcut's `response_url` (hooks.slack.com): records what is posted."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.base_url}/actions/T1/1/hook"


class _ResponseURLHandler(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.read_body() or b"{}")
        with self.owner.lock:
            self.owner.posted.append(body)
        self.send_bytes(200, b"ok", {"Content-Type": "text/plain"})


ResponseURL.handler_class = _ResponseURLHandler


@pytest.fixture
def response_url() -> Iterator[ResponseURL]:
    server = ResponseURL().start()
    yield server
    server.stop()


Items = list[dict[str, Any]]

# Fragments that must never reach a user: exception and class names, stack traces, ARNs, the
# model id, tokens and the raw texts the fakes put in their error bodies.
LEAK_MARKERS = (
    "Traceback", "Exception", "Error:", "botocore", "arn:aws", "anthropic.claude",
    "claude-sonnet", "xoxb-", "xapp-", "test-signing-secret", "Too many requests",
    "ServiceUnavailable", "Bedrock is unable", "ProvisionedThroughput", "DynamoDB", "table '",
    "injected by the test", "model identifier", "Input is too long", "You don't have access",
)


def scan_table(client: Any, table: str) -> Items:
    items: Items = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items += page.get("Items", [])
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def is_message(item: dict[str, Any]) -> bool:
    return "Role" in item and "Deleted" not in item


def is_claim(item: dict[str, Any]) -> bool:
    """A person's message is its own claim; a message answered or refused without being
    remembered leaves a claim alone (no role, no text)."""
    return "ClaimStatus" in item


@pytest.fixture
def table_items(dynamodb_client: Any, table_name: str) -> Callable[[], tuple[Items, Items]]:
    """(message items, claims) of the test's table, read consistently."""

    def read() -> tuple[Items, Items]:
        items = scan_table(dynamodb_client, table_name)
        return [i for i in items if is_message(i)], [i for i in items if is_claim(i)]

    return read


def leaks_in(fake_slack: FakeSlack, markers: Iterable[str] = LEAK_MARKERS) -> list[str]:
    """Every (method, marker) where a recorded Slack call's arguments contain a marker."""
    found = []
    for call in fake_slack.calls:
        sent = json.dumps(call.params, ensure_ascii=False)
        found += [f"{call.method}: {marker}" for marker in markers if marker in sent]
    return found


def posted_texts(fake_slack: FakeSlack, channel: str, thread_ts: str) -> list[str]:
    return fake_slack.thread_texts(channel, thread_ts)


def chat_calls(fake_slack: FakeSlack) -> list[str]:
    """Calls that write something a user sees (status calls excluded)."""
    return [c.method for c in fake_slack.calls if c.method.startswith("chat.")]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object) -> Iterable[bytes]:
        yield self._data


class FailingRequests:
    """Fail a DynamoDB client's requests whose body matches, as DynamoDB would (HTTP layer,
    so botocore parses and retries them as usual): a hot partition, a table in trouble.

        with FailingRequests(bot.deps.store.client, lambda op, body: session in body):
            ...
    """

    def __init__(
        self, client: Any, matches: Callable[[str, str], bool], *,
        code: str = "ProvisionedThroughputExceededException", status: int = 400,
    ) -> None:
        self.client, self.matches, self.code, self.status = client, matches, code, status
        self.failed = 0

    def __enter__(self) -> FailingRequests:
        self.client.meta.events.register("before-send.dynamodb", self._answer)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister("before-send.dynamodb", self._answer)

    def _answer(self, request: Any, **_: object) -> Any:
        from botocore.awsrequest import AWSResponse

        operation = str(request.headers.get("X-Amz-Target", b""), "utf-8", "replace")
        body = request.body.decode() if isinstance(request.body, bytes) else str(request.body)
        if not self.matches(operation.rsplit(".", 1)[-1], body):
            return None
        self.failed += 1
        payload = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}",
                              "message": "injected by the test"}).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "fault"}
        return AWSResponse(request.url, self.status, headers, _Body(payload))
