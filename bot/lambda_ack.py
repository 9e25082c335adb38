"""The first invocation: check Slack's signature, answer at once, hand the request on.

Everything a cold ack needs is in the standard library (hmac, json): no Bolt app, no LangChain,
no boto3, no auth.test. Slack gets what the Bolt app would answer for the bot's listeners, which
all ack with an empty body: 200 and nothing (events, block_actions, message_action), the
challenge for url_verification, 200 for ssl_check, 401 for a bad signature, 400 for a signed
body of the wrong shape. The request itself
goes, unchanged, to a second invocation of the same function (an asynchronous Invoke), where
the Bolt app processes it (bot/lambda_lazy.py). A listener whose ack must carry a body (a slash
command's reply, view_submission errors, options) could not be served by this path.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

from bot.serving.envelope import payload_of

log = logging.getLogger(__name__)

# Slack: refuse a request whose timestamp is more than five minutes from now (replays).
SIGNATURE_WINDOW_SECONDS = 300
# The key that makes an event a lazy invocation. A function URL (or API Gateway) event is built
# by AWS from the HTTP request, so no caller on the internet can put a key at its top level:
# only a direct lambda:InvokeFunction, which IAM authorizes, can.
LAZY_EVENT_KEY = "lazy_slack_request"
LAZY_EVENT_VERSION = 1
# Bolt marks its own lazy requests with these headers; one arriving from outside is dropped so
# it can never steer the Bolt app in the lazy invocation.
BOLT_INTERNAL_HEADER_PREFIX = "x-slack-bolt-"

_JSON = {"Content-Type": "application/json;charset=utf-8"}
_TEXT = {"Content-Type": "text/plain;charset=utf-8"}


@dataclass(frozen=True)
class SlackHttpRequest:
    """An HTTP request as a function URL (payload 2.0) or API Gateway (1.0) event carries it."""

    method: str
    headers: Mapping[str, str]  # names in lower case
    body: str
    query: Mapping[str, str]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> SlackHttpRequest:
        context = event.get("requestContext") or {}
        method = (context.get("http") or {}).get("method") or context.get("httpMethod") or ""
        body = event.get("body") or ""
        if event.get("isBase64Encoded"):
            try:  # what Slack signs is UTF-8; anything else fails the signature check
                body = base64.b64decode(body).decode("utf-8", errors="replace")
            except ValueError:
                body = ""
        headers = {str(name).lower(): str(value) for name, value in (event.get("headers") or {}).items()}
        return cls(method.upper(), headers, body, dict(event.get("queryStringParameters") or {}))


def is_lazy_event(event: Mapping[str, Any]) -> bool:
    return LAZY_EVENT_KEY in event and "requestContext" not in event


def is_signed_by_slack(request: SlackHttpRequest, signing_secret: str, *, now: float) -> bool:
    """Slack's v0 signature: HMAC-SHA256 of "v0:{timestamp}:{body}", timestamp within 5 min."""
    timestamp = request.headers.get("x-slack-request-timestamp", "")
    signature = request.headers.get("x-slack-signature", "")
    if not timestamp.isdigit() or abs(now - int(timestamp)) > SIGNATURE_WINDOW_SECONDS:
        return False
    return hmac.compare_digest(signature, slack_signature(signing_secret, timestamp, request.body))


def slack_signature(signing_secret: str, timestamp: str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


def acknowledge(
    request: SlackHttpRequest, *, signing_secret: str,
    start_lazy: Callable[[dict[str, Any]], None], now: float,
) -> dict[str, Any]:
    """The HTTP response for Slack; the lazy invocation is queued before it is returned."""
    if request.method != "POST":
        return _response(404, "Not Found", _TEXT)
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/x-www-form-urlencoded") and \
            parse_qs(request.body).get("ssl_check") == ["1"]:  # Bolt answers these unsigned too
        return _response(200, "", _TEXT)
    if not is_signed_by_slack(request, signing_secret, now=now):
        log.info("refused a request without a valid Slack signature")
        return _response(401, json.dumps({"error": "invalid request"}), _JSON)
    payload = payload_of(request.body.encode(), content_type)
    if payload is None:  # as the HTTP modes answer it: no lazy invocation to fail later
        log.info("a signed request that is no Slack payload: refused with 400")
        return _response(400, "", _TEXT)
    if payload.get("type") == "url_verification":
        return _response(200, json.dumps({"challenge": payload.get("challenge")}), _JSON)
    try:
        start_lazy(lazy_event(request, acked_at=now))
    except Exception:
        # Not acknowledged, so Slack delivers the event again; a quiet 200 would lose it.
        log.exception("could not start the lazy invocation; answering 500 so Slack retries")
        return _response(500, "", _TEXT)
    return _response(200, "", _TEXT)


def lazy_event(request: SlackHttpRequest, *, acked_at: float) -> dict[str, Any]:
    """The payload of the lazy invocation: the request as Slack sent it, and when it was acked."""
    headers = {name: value for name, value in request.headers.items()
               if not name.startswith(BOLT_INTERNAL_HEADER_PREFIX)}
    return {LAZY_EVENT_KEY: {
        "version": LAZY_EVENT_VERSION,
        "acked_at": acked_at,
        "body": request.body,
        "headers": headers,
        "query": dict(request.query),
    }}


def _response(status: int, body: str, headers: dict[str, str]) -> dict[str, Any]:
    return {"statusCode": status, "body": body, "headers": dict(headers)}
