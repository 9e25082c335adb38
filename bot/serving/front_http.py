"""HTTP mode's acknowledging process: verify Slack's signature, answer 200 at once, hand the
request to the worker that owns its thread. Nothing here waits on Slack, DynamoDB or a model.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from typing import Any

from slack_sdk.signature import SignatureVerifier

from bot.serving.envelope import payload_of
from bot.serving.route import workers_for
from bot.serving.workers import Job, WorkerPool

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_front_app(pool: WorkerPool, *, signing_secret: str) -> WSGIApp:
    verifier = SignatureVerifier(signing_secret)
    arrivals = 0

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        nonlocal arrivals
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            healthy = pool.is_healthy()
            return _reply(start_response, "200 OK" if healthy else "503 Service Unavailable",
                          b"ok" if healthy else b"workers down")
        if path != EVENTS_PATH or method != "POST":
            return _reply(start_response, "404 Not Found", b"not found")
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        headers = {key[5:].replace("_", "-").lower(): value
                   for key, value in environ.items() if key.startswith("HTTP_")}
        content_type = environ.get("CONTENT_TYPE", "")
        headers["content-type"] = content_type
        if not verifier.is_valid_request(body, headers):
            log.info("Invalid request signature detected (timestamp: %s): refused with 401",
                     headers.get("x-slack-request-timestamp", "none"))
            return _reply(start_response, "401 Unauthorized", b"")
        payload = payload_of(body, content_type)
        if payload is None:
            log.info("a signed request that is no Slack payload: refused with 400")
            return _reply(start_response, "400 Bad Request", b"")
        if payload.get("type") == "url_verification":
            challenge = json.dumps({"challenge": payload.get("challenge", "")}).encode()
            return _reply(start_response, "200 OK", challenge, "application/json")
        if payload.get("ssl_check"):
            return _reply(start_response, "200 OK", b"")
        arrivals += 1
        job = Job("http", body.decode("utf-8"), headers, environ.get("QUERY_STRING", ""))
        for index in workers_for(payload, pool.size, fallback=arrivals):
            pool.submit(index, job)
        return _reply(start_response, "200 OK", b"")

    return route


def _reply(
    start_response: Callable[..., Any], status: str, body: bytes, content_type: str = "text/plain"
) -> list[bytes]:
    start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
    return [body]
