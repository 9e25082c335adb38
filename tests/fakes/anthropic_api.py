"""A local server speaking the Anthropic Messages API, for the real `ChatAnthropic` client.

`POST /v1/messages` answers with `reply` (text, or a callable given the request body), as one
JSON message or, when the request says `"stream": true`, as the SSE events Anthropic sends
(message_start, content_block_start, content_block_delta..., content_block_stop,
message_delta, message_stop). Each request is recorded, so tests assert what Claude was sent.

    with FakeAnthropic(reply="Hello!") as api:
        model = ChatAnthropic(model="claude-sonnet-4-6", api_key="k", base_url=api.url)
        assert model.invoke("Hi").content == "Hello!"
        assert api.last_request.body["messages"] == [{"role": "user", "content": "Hi"}]
"""

from __future__ import annotations

import contextlib
import json
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes._http import FakeHTTPServer, QuietHandler

Reply = str | Callable[[dict[str, Any]], str]

# kind -> (HTTP status, error type, message), as api.anthropic.com answers them.
FAULTS: dict[str, tuple[int, str, str]] = {
    "rate_limit": (429, "rate_limit_error", "Number of request tokens has exceeded your limit."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "internal": (500, "api_error", "Internal server error"),
    "auth": (401, "authentication_error", "invalid x-api-key"),
    "permission": (403, "permission_error", "Your API key lacks permission for this model."),
    "not_found": (404, "not_found_error", "model: claude-nonexistent"),
    "too_long": (400, "invalid_request_error", "prompt is too long: 210000 tokens > 200000 max"),
    "invalid": (400, "invalid_request_error", "messages: roles must alternate"),
}


@dataclass(frozen=True)
class AnthropicRequest:
    path: str
    headers: dict[str, str]  # names lowercased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


@dataclass
class _Fault:
    kind: str
    times: int
    mid_stream: bool = False
    message: str | None = field(default=None)


def split_reply(text: str, max_tokens: int) -> tuple[list[str], str]:
    """The answer's pieces (one per word: a word stands for a token) and the stop reason."""
    words = text.split(" ")
    pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
    if len(pieces) > max_tokens:
        return pieces[:max_tokens], "max_tokens"
    return pieces, "end_turn"


class _AnthropicHandler(QuietHandler):
    owner: FakeAnthropic  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.read_body() or b"{}")
        request = AnthropicRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fault = self.owner._record(request)
        # The client may go away mid-answer (timeout, cancelled stream): nothing to do then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.answer(request, fault)

    def answer(self, request: AnthropicRequest, fault: _Fault | None) -> None:
        if request.path.split("?", 1)[0] != "/v1/messages":
            self.send_error_json(404, "not_found_error", f"Not found: {request.path}")
            return
        if fault and not fault.mid_stream:
            status, error_type, message = FAULTS[fault.kind]
            self.send_error_json(status, error_type, fault.message or message)
            return
        body = request.body
        pieces, stop_reason = split_reply(self.owner.reply_for(body), int(body["max_tokens"]))
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        usage = {"input_tokens": _count_input(body), "output_tokens": len(pieces)}
        if not body.get("stream"):
            self.send_json(
                200,
                {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": [{"type": "text", "text": "".join(pieces)}],
                    "stop_reason": stop_reason,
                    "stop_sequence": None,
                    "usage": usage,
                },
            )
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.send_header("request-id", f"req_{uuid.uuid4().hex[:24]}")
        self.end_headers()
        self.close_connection = True
        self.event(
            "message_start",
            {
                "type": "message_start",
                "message": {
                    "id": message_id,
                    "type": "message",
                    "role": "assistant",
                    "model": body.get("model"),
                    "content": [],
                    "stop_reason": None,
                    "stop_sequence": None,
                    "usage": {**usage, "output_tokens": 1},
                },
            },
        )
        self.event(
            "content_block_start",
            {
                "type": "content_block_start",
                "index": 0,
                "content_block": {"type": "text", "text": ""},
            },
        )
        self.event("ping", {"type": "ping"})
        for piece in pieces:
            self.event(
                "content_block_delta",
                {
                    "type": "content_block_delta",
                    "index": 0,
                    "delta": {"type": "text_delta", "text": piece},
                },
            )
            if fault:  # Anthropic reports overload after HTTP 200 as an error event
                _, error_type, message = FAULTS[fault.kind]
                self.event("error", _error_body(error_type, fault.message or message))
                return
        self.event("content_block_stop", {"type": "content_block_stop", "index": 0})
        self.event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": len(pieces)},
            },
        )
        self.event("message_stop", {"type": "message_stop"})

    def event(self, name: str, data: dict[str, Any]) -> None:
        self.wfile.write(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        headers = {
            "Content-Type": "application/json",
            "request-id": f"req_{uuid.uuid4().hex[:24]}",
        }
        self.send_bytes(status, json.dumps(payload).encode(), headers)

    def send_error_json(self, status: int, error_type: str, message: str) -> None:
        self.send_json(status, _error_body(error_type, message))


class FakeAnthropic(FakeHTTPServer):
    """The Messages API over HTTP with a configurable reply and faults."""

    handler_class = _AnthropicHandler

    def __init__(self, *, reply: Reply = "Hello from the fake Anthropic API.") -> None:
        super().__init__()
        self.reply: Reply = reply
        self._lock = threading.Lock()
        self._requests: list[AnthropicRequest] = []
        self._faults: list[_Fault] = []

    @property
    def url(self) -> str:
        """For ANTHROPIC_BASE_URL: the SDK appends `/v1/messages`."""
        return self.base_url

    @property
    def requests(self) -> list[AnthropicRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> AnthropicRequest:
        requests = self.requests
        if not requests:
            raise AssertionError("FakeAnthropic received no request")
        return requests[-1]

    def fail_next(
        self, kind: str, times: int = 1, *, mid_stream: bool = False, message: str | None = None
    ) -> None:
        """Make the next `times` requests fail as `kind` (see FAULTS): with the HTTP status,
        or with `mid_stream`, as an SSE error event after the first piece of text."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {tuple(FAULTS)}")
        with self._lock:
            self._faults.append(_Fault(kind, times, mid_stream, message))

    def reply_for(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    def _record(self, request: AnthropicRequest) -> _Fault | None:
        with self._lock:
            self._requests.append(request)
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}


def _count_input(body: dict[str, Any]) -> int:
    return max(1, len(json.dumps(body.get("messages", []))) // 4)
