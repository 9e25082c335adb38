"""A local server speaking OpenAI's Chat Completions API, as Ollama, vLLM and llama.cpp do.

`POST /v1/chat/completions` answers with `reply` (text, or a callable given the request body),
as one JSON completion or, when the request says `"stream": true`, as SSE `data: {...}` chunks
ending with `data: [DONE]`. Each request is recorded for assertions on what was sent.

    with FakeOpenAI(reply="Hello!") as api:
        model = ChatOpenAI(model="llama3", api_key="x", base_url=api.url)
        assert model.invoke("Hi").content == "Hello!"
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tests.fakes._http import FakeHTTPServer, QuietHandler

Reply = str | Callable[[dict[str, Any]], str]

# kind -> (HTTP status, error type, error code, message), as OpenAI-style servers answer them.
FAULTS: dict[str, tuple[int, str, str | None, str]] = {
    "rate_limit": (429, "requests", "rate_limit_exceeded", "Rate limit reached for requests"),
    "internal": (500, "server_error", None, "The server had an error processing your request."),
    "unavailable": (503, "server_error", None, "The engine is currently overloaded."),
    "auth": (401, "invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    "not_found": (
        404,
        "invalid_request_error",
        "model_not_found",
        "The model `nope` does not exist.",
    ),
    "too_long": (
        400,
        "invalid_request_error",
        "context_length_exceeded",
        "This model's maximum context length is 8192 tokens. However, your messages resulted "
        "in 9000 tokens. Please reduce the length of the messages.",
    ),
    "invalid": (400, "invalid_request_error", None, "'messages' must contain at least one item"),
}


@dataclass(frozen=True)
class OpenAIRequest:
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
    message: str | None = None


def split_reply(text: str, max_tokens: int | None) -> tuple[list[str], str]:
    """The answer's pieces (one per word: a word stands for a token) and finish_reason."""
    words = text.split(" ")
    pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
    if max_tokens is not None and len(pieces) > max_tokens:
        return pieces[:max_tokens], "length"
    return pieces, "stop"


class _OpenAIHandler(QuietHandler):
    owner: FakeOpenAI  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.read_body() or b"{}")
        request = OpenAIRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fault = self.owner._record(request)
        # The client may go away mid-answer (timeout, cancelled stream): nothing to do then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.answer(request, fault)

    def answer(self, request: OpenAIRequest, fault: _Fault | None) -> None:
        if request.path.split("?", 1)[0] != "/v1/chat/completions":
            self.send_json(404, _error_body("invalid_request_error", None, "Not found"))
            return
        if fault and not fault.mid_stream:
            status, error_type, code, message = FAULTS[fault.kind]
            self.send_json(status, _error_body(error_type, code, fault.message or message))
            return
        body = request.body
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        pieces, finish_reason = split_reply(
            self.owner.reply_for(body), int(limit) if limit is not None else None
        )
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        prompt_tokens = max(1, len(json.dumps(body.get("messages", []))) // 4)
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(pieces),
            "total_tokens": prompt_tokens + len(pieces),
        }
        head = {"id": completion_id, "created": int(time.time()), "model": body.get("model")}
        if not body.get("stream"):
            self.send_json(
                200,
                {
                    **head,
                    "object": "chat.completion",
                    "choices": [
                        {
                            "index": 0,
                            "message": {"role": "assistant", "content": "".join(pieces)},
                            "finish_reason": finish_reason,
                        }
                    ],
                    "usage": usage,
                },
            )
            return

        def chunk(delta: dict[str, Any], reason: str | None = None) -> dict[str, Any]:
            choice = {"index": 0, "delta": delta, "finish_reason": reason}
            return {**head, "object": "chat.completion.chunk", "choices": [choice]}

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the body ends when the connection does
        self.end_headers()
        self.close_connection = True
        self.data(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            self.data(chunk({"content": piece}))
            if fault:  # a failure after HTTP 200 arrives as a chunk holding only "error"
                _, error_type, code, message = FAULTS[fault.kind]
                self.data(_error_body(error_type, code, fault.message or message))
                return
        self.data(chunk({}, finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            self.data({**chunk({}), "choices": [], "usage": usage})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def data(self, payload: dict[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
        self.wfile.flush()

    def send_json(self, status: int, payload: dict[str, Any]) -> None:
        self.send_bytes(status, json.dumps(payload).encode(), {"Content-Type": "application/json"})


class FakeOpenAI(FakeHTTPServer):
    """Chat Completions over HTTP with a configurable reply and faults."""

    handler_class = _OpenAIHandler

    def __init__(self, *, reply: Reply = "Hello from the fake OpenAI-compatible server.") -> None:
        super().__init__()
        self.reply: Reply = reply
        self._lock = threading.Lock()
        self._requests: list[OpenAIRequest] = []
        self._faults: list[_Fault] = []

    @property
    def url(self) -> str:
        """For OPENAI_BASE_URL, ending in `/v1` like Ollama's and vLLM's."""
        return f"{self.base_url}/v1"

    @property
    def requests(self) -> list[OpenAIRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> OpenAIRequest:
        requests = self.requests
        if not requests:
            raise AssertionError("FakeOpenAI received no request")
        return requests[-1]

    def fail_next(
        self, kind: str, times: int = 1, *, mid_stream: bool = False, message: str | None = None
    ) -> None:
        """Make the next `times` requests fail as `kind` (see FAULTS): with the HTTP status,
        or with `mid_stream`, as an error chunk after the first piece of text."""
        if kind not in FAULTS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {tuple(FAULTS)}")
        with self._lock:
            self._faults.append(_Fault(kind, times, mid_stream, message))

    def reply_for(self, body: dict[str, Any]) -> str:
        return self.reply(body) if callable(self.reply) else self.reply

    def _record(self, request: OpenAIRequest) -> _Fault | None:
        with self._lock:
            self._requests.append(request)
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault


def _error_body(error_type: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
