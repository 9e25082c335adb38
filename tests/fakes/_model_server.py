"""What the model API fakes share, so that each keeps only its wire format.

`FakeModelServer` records requests, hands queued faults to them one by one and works out the
reply text. `FakeSSEServer` and `SSEHandler` add the JSON-over-HTTP-with-SSE family (Anthropic's
Messages API and OpenAI's Chat Completions): JSON bodies in, JSON or `text/event-stream` out.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from tests.fakes._http import FakeHTTPServer, QuietHandler

# The answer's text, or a function of the request body giving it; None: the fake's default.
Reply = str | Callable[[dict[str, Any]], str] | None


@dataclass
class Fault:
    """The next `times` requests fail as `kind`; `message` replaces the service's usual text."""

    kind: str
    times: int
    message: str | None = None


@dataclass
class StreamFault(Fault):
    # With mid_stream the answer starts (HTTP 200, first piece of text), then fails in the stream.
    mid_stream: bool = False


@dataclass(frozen=True)
class JSONRequest:
    path: str
    headers: dict[str, str]  # names lowercased
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))


RequestT = TypeVar("RequestT")
FaultT = TypeVar("FaultT", bound=Fault)


def split_reply(text: str, max_tokens: int | None) -> tuple[list[str], bool]:
    """The answer's pieces (one per word: a word stands for a token), and whether
    `max_tokens` cut it short."""
    words = text.split(" ")
    pieces = [word if i == 0 else " " + word for i, word in enumerate(words)]
    if max_tokens is not None and len(pieces) > max_tokens:
        return pieces[:max_tokens], True
    return pieces, False


def count_prompt_tokens(body: dict[str, Any]) -> int:
    """A rough token count of the messages sent (four characters a token), at least one."""
    return max(1, len(json.dumps(body.get("messages", []))) // 4)


class FakeModelServer(FakeHTTPServer, Generic[RequestT, FaultT]):
    """A model API over HTTP: records each request and fails the next ones as told."""

    # The kinds fail_next accepts; each fake answers them as its service does.
    fault_kinds: ClassVar[Collection[str]]

    def __init__(self, *, reply: Reply) -> None:
        super().__init__()
        self.reply: Reply = reply
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._requests: list[RequestT] = []
        self._faults: list[FaultT] = []

    @property
    def requests(self) -> list[RequestT]:
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RequestT:
        requests = self.requests
        if not requests:
            raise AssertionError(f"{type(self).__name__} received no request")
        return requests[-1]

    def wait_for_requests(self, count: int = 1, timeout: float = 10) -> list[RequestT]:
        with self._changed:
            if not self._changed.wait_for(lambda: len(self._requests) >= count, timeout):
                raise AssertionError(
                    f"{type(self).__name__} got {len(self._requests)} requests, expected {count}"
                )
            return list(self._requests)

    def reset(self) -> None:
        """Forget the requests and drop the faults not yet used."""
        with self._lock:
            self._requests.clear()
            self._faults.clear()

    def reply_for(self, body: dict[str, Any]) -> str:
        reply = self.reply
        if reply is None:
            return self.default_reply(body)
        return reply(body) if callable(reply) else reply

    def default_reply(self, body: dict[str, Any]) -> str:
        """The answer while `reply` is None, for fakes that have one."""
        raise TypeError(f"{type(self).__name__}.reply is None and it has no default reply")

    def _queue_fault(self, fault: FaultT) -> None:
        if fault.kind not in self.fault_kinds:
            raise ValueError(f"unknown fault kind {fault.kind!r}; expected one of {tuple(self.fault_kinds)}")
        with self._lock:
            self._faults.append(fault)

    def _record(self, request: RequestT) -> FaultT | None:
        """Keep the request; the fault it must meet, if one is queued."""
        with self._changed:
            self._requests.append(request)
            self._changed.notify_all()
            if not self._faults:
                return None
            fault = self._faults[0]
            fault.times -= 1
            if fault.times <= 0:
                self._faults.pop(0)
            return fault


class FakeSSEServer(FakeModelServer[JSONRequest, StreamFault]):
    """A JSON API that streams its answer as server-sent events when asked to."""

    def fail_next(
        self, kind: str, times: int = 1, *, mid_stream: bool = False, message: str | None = None
    ) -> None:
        """Make the next `times` requests fail as `kind` (see the fake's FAULTS): with the HTTP
        status, or with `mid_stream`, as an error in the stream after the first piece of text."""
        self._queue_fault(StreamFault(kind, times, message, mid_stream))


class SSEHandler(QuietHandler):
    """Reads and records the JSON request; `answer` writes the fake's wire format."""

    owner: FakeSSEServer  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.read_body() or b"{}")
        request = JSONRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body)
        fault = self.owner._record(request)
        # The client may go away mid-answer (timeout, cancelled stream): nothing to do then.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.answer(request, fault)

    def answer(self, request: JSONRequest, fault: StreamFault | None) -> None:
        raise NotImplementedError

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        headers = {"Content-Type": "application/json", **(headers or {})}
        self.send_bytes(status, json.dumps(payload).encode(), headers)

    def start_event_stream(self, headers: dict[str, str] | None = None) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")  # the body ends when the connection does
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.close_connection = True

    def write_event(self, data: dict[str, Any] | str, *, event: str | None = None) -> None:
        """One SSE event: `data` as JSON (a string as it is), after an `event:` line if named."""
        text = data if isinstance(data, str) else json.dumps(data)
        head = f"event: {event}\n" if event else ""
        self.wfile.write(f"{head}data: {text}\n\n".encode())
        self.wfile.flush()
