"""Lambda events as AWS delivers an HTTP request from Slack: a function URL (payload format 2.0)
or an API Gateway REST API (format 1.0), signed as Slack signs requests."""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.signing import interaction_body, signed_headers
from tests.support.bot_server import SIGNING_SECRET

FUNCTION_NAME = "claude-slack-bot-bot"
ALIAS = "live"
FUNCTION_ARN = f"arn:aws:lambda:us-east-1:123456789012:function:{FUNCTION_NAME}:{ALIAS}"
FORM = "application/x-www-form-urlencoded"


@dataclass
class LambdaContext:
    """The attributes of the runtime's context object that Bolt and the handler read."""

    function_name: str = FUNCTION_NAME
    function_version: str = "1"
    invoked_function_arn: str = FUNCTION_ARN
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))

    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def _slack_headers(
    body: bytes, *, signature: str | None, retry_num: int | None, timestamp: int | None = None,
    content_type: str = "application/json",
) -> dict[str, str]:
    signed = signed_headers(body, SIGNING_SECRET, timestamp, content_type=content_type)
    headers = {name.lower(): value for name, value in signed.items()}
    if signature is not None:
        headers["x-slack-signature"] = signature
    if retry_num is not None:
        headers |= {"x-slack-retry-num": str(retry_num), "x-slack-retry-reason": "http_timeout"}
    return headers | {"user-agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
                      "x-forwarded-proto": "https", "accept": "*/*"}


def function_url_event(
    payload: dict[str, Any], *, base64_body: bool = False, signature: str | None = None,
    retry_num: int | None = None, timestamp: int | None = None, form: bool = False,
    extra_headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`form`: an interactivity payload, form-encoded as Slack sends those."""
    body = interaction_body(payload) if form else json.dumps(payload).encode()
    headers = _slack_headers(body, signature=signature, retry_num=retry_num, timestamp=timestamp,
                             content_type=FORM if form else "application/json")
    headers |= {"host": "abcdefghij.lambda-url.us-east-1.on.aws"} | (extra_headers or {})
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/slack/events",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "anonymous",
            "apiId": "abcdefghij",
            "domainName": headers["host"],
            "domainPrefix": "abcdefghij",
            "http": {"method": "POST", "path": "/slack/events", "protocol": "HTTP/1.1",
                     "sourceIp": "54.0.0.1", "userAgent": headers["user-agent"]},
            "requestId": str(uuid.uuid4()),
            "routeKey": "$default",
            "stage": "$default",
            "time": "25/Nov/2026:10:00:00 +0000",
            "timeEpoch": 1795600000000,
        },
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }


def api_gateway_event(payload: dict[str, Any], *, base64_body: bool = False) -> dict[str, Any]:
    body = json.dumps(payload).encode()
    headers = {name.title(): value for name, value in
               _slack_headers(body, signature=None, retry_num=None).items()}
    return {
        "resource": "/slack/events",
        "path": "/slack/events",
        "httpMethod": "POST",
        "headers": headers,
        "multiValueHeaders": {name: [value] for name, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {"resourcePath": "/slack/events", "httpMethod": "POST",
                           "path": "/prod/slack/events", "stage": "prod",
                           "requestId": str(uuid.uuid4())},
        "body": base64.b64encode(body).decode() if base64_body else body.decode(),
        "isBase64Encoded": base64_body,
    }
