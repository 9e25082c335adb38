"""Helpers shared by the fault tests: what the table holds, what Slack was sent."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import pytest

from tests.fakes.slack_api import FakeSlack

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
