"""A wire-level fake of Amazon Bedrock Runtime's Converse and ConverseStream APIs.

The real `langchain_aws.ChatBedrockConverse` (boto3 underneath) talks to it over HTTP, so tests
see exactly what Claude would be sent and get back what botocore would raise. Errors follow the
service model in botocore's `bedrock-runtime` data: REST-JSON errors carry `x-amzn-ErrorType`,
and failures after the stream started are event-stream messages with `:message-type` exception.

    with FakeBedrock() as bedrock:
        model = ChatBedrockConverse(model=MODEL, endpoint_url=bedrock.url, region_name="us-east-1",
                                    aws_access_key_id="x", aws_secret_access_key="x")
        bedrock.reply = "Hello!"
        assert model.invoke("Hi").content == "Hello!"
        assert "Hi" in bedrock.all_text_sent()

Prompt caching is accounted as Bedrock does for Claude: a `cachePoint` block caches the prefix
before it (once it holds `cache_minimum_tokens`), for 5 minutes or its `ttl`, renewed on each
hit; a later request reads the longest cached prefix ending at one of its message boundaries
before its last cache point, and writes the rest up to that point. Usage then reports
`cacheReadInputTokens` and `cacheWriteInputTokens`, and `inputTokens` only the tokens neither.
"""

from __future__ import annotations

import hashlib
import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from tests.fakes._http import QuietHandler
from tests.fakes._model_server import FakeModelServer, Fault, Reply
from tests.fakes.eventstream import encode_event, encode_exception

# kind -> (HTTP status, x-amzn-ErrorType, message), as Bedrock answers them.
HTTP_FAULTS: dict[str, tuple[int, str, str]] = {
    "throttling": (
        429,
        "ThrottlingException",
        "Too many requests, please wait before trying again.",
    ),
    "unavailable": (
        503,
        "ServiceUnavailableException",
        "Bedrock is unable to process your request.",
    ),
    "access_denied": (
        403,
        "AccessDeniedException",
        "You don't have access to the model with the specified model ID.",
    ),
    "not_found": (404, "ResourceNotFoundException", "The provided model identifier is invalid."),
    "too_long": (400, "ValidationException", "Input is too long for requested model."),
    "internal": (500, "InternalServerException", "The server encountered an internal error."),
    "model_timeout": (
        408,
        "ModelTimeoutException",
        "Model has timed out in processing the request.",
    ),
}
FAULT_KINDS = (*HTTP_FAULTS, "timeout", "stream_error")
# Exceptions ConverseStream may send mid-stream (member names of ConverseStreamOutput).
STREAM_EXCEPTIONS: dict[str, str] = {
    "throttlingException": "Too many requests, please wait before trying again.",
    "modelStreamErrorException": "Model stream error: the model produced an invalid sequence.",
    "internalServerException": "The server encountered an internal error.",
    "serviceUnavailableException": "Bedrock is unable to process your request.",
    "validationException": "Input is too long for requested model.",
}
# A stream_error met by a non-streaming Converse call: the HTTP error of the same cause.
_STREAM_EXCEPTION_AS_HTTP = {
    "throttlingException": (429, "ThrottlingException"),
    "modelStreamErrorException": (424, "ModelErrorException"),
    "internalServerException": (500, "InternalServerException"),
    "serviceUnavailableException": (503, "ServiceUnavailableException"),
    "validationException": (400, "ValidationException"),
}
_MUST_START_WITH_USER = (
    "A conversation must start with a user message. "
    "Try again with a conversation that starts with a user message."
)
_ERROR_TYPE_SUFFIX = ":http://internal.amazon.com/coral/com.amazon.bedrock/"


@dataclass(frozen=True)
class BedrockRequest:
    model_id: str
    body: dict[str, Any]
    streaming: bool
    headers: dict[str, str] = field(default_factory=dict, compare=False)
    time: float = field(default=0.0, compare=False)

    @property
    def messages(self) -> list[dict[str, Any]]:
        return list(self.body.get("messages", []))

    @property
    def system_text(self) -> str:
        return "\n".join(block["text"] for block in self.body.get("system", []) if "text" in block)


@dataclass
class _Fault(Fault):
    # For "stream_error": the ConverseStreamOutput exception member to send.
    exception: str = "throttlingException"


def content_text(content: list[dict[str, Any]]) -> str:
    """The text blocks of a Converse message's content, joined."""
    return "\n".join(block["text"] for block in content if "text" in block)


def validation_problem(body: dict[str, Any]) -> str | None:
    """The ValidationException message Bedrock gives for a malformed conversation, if any."""
    messages = body.get("messages")
    if not messages:
        return _MUST_START_WITH_USER
    if messages[0].get("role") != "user":
        return _MUST_START_WITH_USER
    for before, after in zip(messages, messages[1:], strict=False):
        if before.get("role") == after.get("role"):
            return (
                "A conversation must alternate between user and assistant roles. Make sure "
                "the conversation alternates between user and assistant roles and try again."
            )
    for m_index, message in enumerate(messages):
        content = message.get("content") or []
        if not content:
            return (
                f"The content field in the Message object at messages.{m_index} is empty. "
                "Add a ContentBlock object to the content field and try again."
            )
        for c_index, block in enumerate(content):
            if "text" in block and not block["text"].strip():
                return (
                    f"The text field in the ContentBlock object at messages.{m_index}"
                    f".content.{c_index} is blank. Add text to the text field, and try again."
                )
    return None


def usage_for(
    body: dict[str, Any], reply: str, *, cache_read: int = 0, cache_write: int = 0
) -> dict[str, int]:
    sent = sum(len(json.dumps(m)) for m in body.get("messages", []))
    sent += sum(len(b.get("text", "")) for b in body.get("system", []))
    input_tokens, output_tokens = sent // 4 + 1, len(reply) // 4 + 1
    usage = {
        "inputTokens": max(1, input_tokens - cache_read - cache_write),
        "outputTokens": output_tokens,
        "totalTokens": input_tokens + output_tokens,
    }
    if has_cache_points(body):
        usage |= {"cacheReadInputTokens": cache_read, "cacheWriteInputTokens": cache_write}
    return usage


def is_cache_point(block: dict[str, Any]) -> bool:
    return "cachePoint" in block


def has_cache_points(body: dict[str, Any]) -> bool:
    blocks = [*body.get("system", []), *(b for m in body.get("messages", []) for b in m["content"])]
    return any(is_cache_point(b) for b in blocks)


def without_cache_points(body: dict[str, Any]) -> dict[str, Any]:
    """The request as the model reads it: cache points are markers, not content."""
    return {
        "system": [b for b in body.get("system", []) if not is_cache_point(b)],
        "messages": [{**m, "content": [b for b in m["content"] if not is_cache_point(b)]}
                     for m in body.get("messages", [])],
    }


@dataclass(frozen=True)
class _Prefix:
    """The request's content up to a point (cache points left out): a digest, and its tokens."""

    digest: str
    tokens: int


def cache_layout(body: dict[str, Any]) -> tuple[list[tuple[_Prefix, str]], list[_Prefix]]:
    """The prefix before each cache point with its ttl, and the prefixes a lookup may match
    (after the system prompt and after each message), in one pass over the request."""
    running, size = hashlib.sha256(), 0
    points: list[tuple[_Prefix, str]] = []
    ends: list[_Prefix] = []

    def feed(value: Any) -> None:
        nonlocal size
        data = json.dumps(value, sort_keys=True).encode()
        running.update(data)
        size += len(data)

    def here() -> _Prefix:
        return _Prefix(running.copy().hexdigest(), size // 4)

    for block in body.get("system", []):
        if is_cache_point(block):
            points.append((here(), block["cachePoint"].get("ttl", "5m")))
        else:
            feed(block)
    ends.append(here())
    for message in body.get("messages", []):
        feed(message.get("role"))
        for block in message["content"]:
            if is_cache_point(block):
                points.append((here(), block["cachePoint"].get("ttl", "5m")))
            else:
                feed(block)
        ends.append(here())
    return points, ends


class _BedrockHandler(QuietHandler):
    owner: FakeBedrock  # type: ignore[assignment]

    def do_GET(self) -> None:  # noqa: N802
        # The control plane's GetGuardrail: GET /guardrails/{id}?guardrailVersion=N
        path, _, query = self.path.partition("?")
        parts = path.split("/")
        if len(parts) != 3 or parts[1] != "guardrails":
            self.send_error_json(404, "UnknownOperationException", "")
            return
        identifier = unquote(parts[2])
        version = dict(pair.partition("=")[::2] for pair in query.split("&") if pair).get(
            "guardrailVersion", "DRAFT")
        guardrail = self.owner.guardrails.get((identifier, version))
        if guardrail is None:
            self.send_error_json(404, "ResourceNotFoundException",
                                 "The guardrail with the given identifier does not exist.")
            return
        self.send_bytes(200, json.dumps(guardrail).encode(), self.common_headers("application/json"))

    def do_POST(self) -> None:  # noqa: N802
        raw = self.read_body()
        parts = self.path.split("?", 1)[0].split("/")
        # /model/{modelId}/converse[-stream]; the id is URL-encoded (profiles contain ':').
        if len(parts) != 4 or parts[1] != "model" or parts[3] not in ("converse", "converse-stream"):
            self.send_error_json(404, "UnknownOperationException", "")
            return
        fake = self.owner
        try:
            body = json.loads(raw or b"{}")
        except ValueError:
            self.send_error_json(400, "SerializationException", "Invalid JSON body")
            return
        streaming = parts[3] == "converse-stream"
        request = BedrockRequest(
            model_id=unquote(parts[2]),
            body=body,
            streaming=streaming,
            headers=dict(self.headers.items()),
            time=time.time(),
        )
        fault = fake._record(request)
        try:
            self.answer(request, fault)
        except OSError:
            # The client gave up (timeout, cancelled stream): nothing to answer.
            with fake._lock:
                fake.streams_cut += 1
        finally:
            fake._finish()

    def answer(self, request: BedrockRequest, fault: _Fault | None) -> None:
        fake = self.owner
        fake._pause(fake.latency)
        if fault is None and fake.fault_for is not None and (kind := fake.fault_for(request.body)):
            fault = _Fault(kind, 1, None)
        if fault and fault.kind == "timeout":
            fake._pause(fake.timeout_sleep)
            fault = None
        if fault and fault.kind in HTTP_FAULTS:
            status, error_type, message = HTTP_FAULTS[fault.kind]
            self.send_error_json(status, error_type, fault.message or message)
            return
        if fault and fault.kind == "stream_error" and not request.streaming:
            status, error_type = _STREAM_EXCEPTION_AS_HTTP[fault.exception]
            message = fault.message or STREAM_EXCEPTIONS[fault.exception]
            self.send_error_json(status, error_type, message)
            return
        problem = validation_problem(request.body) if fake.validate else None
        if problem:
            self.send_error_json(400, "ValidationException", problem)
            return
        reply = fake.reply_for(request.body)
        self.cache_read, self.cache_write = fake._account_cache(request.body)
        if request.streaming:
            self.stream(request, reply, fault)
        else:
            self.converse(request, reply)

    def converse(self, request: BedrockRequest, reply: str) -> None:
        started = time.monotonic()
        answer = {
            "output": {"message": {"role": "assistant", "content": [{"text": reply}]}},
            "stopReason": self.owner.converse_stop_reason,
            "usage": self.usage(request, reply),
            "metrics": {"latencyMs": int((time.monotonic() - started) * 1000) + 1},
        }
        self.send_bytes(200, json.dumps(answer).encode(), self.common_headers("application/json"))

    def stream(self, request: BedrockRequest, reply: str, fault: _Fault | None) -> None:
        fake = self.owner
        started = time.monotonic()
        self.send_response(200)
        for name, value in self.common_headers("application/vnd.amazon.eventstream").items():
            self.send_header(name, value)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.write_chunk(encode_event("messageStart", {"p": "abcd", "role": "assistant"}))
        step = max(1, fake.chunk_chars)
        pieces = [reply[i : i + step] for i in range(0, len(reply), step)]
        interval = 1 / fake.tokens_per_second if fake.tokens_per_second else 0.0
        intervene = fake.intervention_after_chunks if "guardrailConfig" in request.body else None
        for sent, piece in enumerate(pieces):
            if fault and sent >= fake.stream_error_after_chunks:
                break
            if intervene is not None and sent >= intervene:
                break
            if sent:
                fake._pause(interval)
            delta = {"contentBlockIndex": 0, "delta": {"text": piece}, "p": "abcdefgh"}
            self.write_chunk(encode_event("contentBlockDelta", delta))
        if intervene is not None and not fault:
            self.intervene(request, started)
            return
        if fault:
            message = fault.message or STREAM_EXCEPTIONS[fault.exception]
            payload: dict[str, Any] = {"message": message}
            if fault.exception == "modelStreamErrorException":
                payload |= {"originalStatusCode": 500, "originalMessage": message}
            self.write_chunk(encode_exception(fault.exception, payload))
        else:
            self.write_chunk(encode_event("contentBlockStop", {"contentBlockIndex": 0, "p": "ab"}))
            self.write_chunk(encode_event("messageStop", {"p": "abc", "stopReason": "end_turn"}))
            metadata = {
                "metrics": {"latencyMs": int((time.monotonic() - started) * 1000) + 1},
                "p": "abcdef",
                "usage": self.usage(request, reply),
            }
            self.write_chunk(encode_event("metadata", metadata))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def intervene(self, request: BedrockRequest, started: float) -> None:
        """The guardrail blocks the rest: its own message as the last piece of text, then
        stopReason guardrail_intervened, and the trace when the request asked for one."""
        fake = self.owner
        delta = {"contentBlockIndex": 0, "delta": {"text": fake.guardrail_message}, "p": "ab"}
        self.write_chunk(encode_event("contentBlockDelta", delta))
        self.write_chunk(encode_event("contentBlockStop", {"contentBlockIndex": 0, "p": "ab"}))
        self.write_chunk(encode_event("messageStop", {"p": "abc", "stopReason": "guardrail_intervened"}))
        metadata: dict[str, Any] = {
            "metrics": {"latencyMs": int((time.monotonic() - started) * 1000) + 1},
            "p": "abcdef",
            "usage": self.usage(request, fake.guardrail_message),
        }
        config = request.body["guardrailConfig"]
        if config.get("trace") in ("enabled", "enabled_full"):
            assessment = {"contentPolicy": {"filters": [
                {"type": "VIOLENCE", "confidence": "HIGH", "action": "BLOCKED"}]}}
            metadata["trace"] = {"guardrail": {"outputAssessments": {
                config["guardrailIdentifier"]: [assessment]}}}
        self.write_chunk(encode_event("metadata", metadata))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def usage(self, request: BedrockRequest, reply: str) -> dict[str, int]:
        usage = usage_for(request.body, reply, cache_read=self.cache_read, cache_write=self.cache_write)
        with self.owner._lock:
            self.owner.usages.append(usage)
        return usage

    def write_chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def common_headers(self, content_type: str) -> dict[str, str]:
        return {"Content-Type": content_type, "x-amzn-RequestId": str(uuid.uuid4())}

    def send_error_json(self, status: int, error_type: str, message: str) -> None:
        headers = self.common_headers("application/json")
        headers["x-amzn-ErrorType"] = error_type + _ERROR_TYPE_SUFFIX
        self.send_bytes(status, json.dumps({"message": message}).encode(), headers)


class FakeBedrock(FakeModelServer[BedrockRequest, _Fault]):
    """Converse / ConverseStream over HTTP with configurable replies, speed and faults."""

    def __init__(
        self,
        *,
        reply: Reply = None,
        latency: float = 0.0,
        tokens_per_second: float | None = None,
        chunk_chars: int = 4,
        timeout_sleep: float = 3.0,
        stream_error_after_chunks: int = 2,
        validate: bool = True,
    ) -> None:
        super().__init__(reply=reply)
        self.latency = latency
        self.tokens_per_second = tokens_per_second
        self.chunk_chars = chunk_chars
        self.timeout_sleep = timeout_sleep
        self.stream_error_after_chunks = stream_error_after_chunks
        # Reject what Bedrock rejects (first turn not user, roles not alternating, blank text).
        self.validate = validate
        self.in_flight = 0
        self.max_in_flight = 0
        # Claude Sonnet's minimum cacheable prefix; a point before it caches nothing.
        self.cache_minimum_tokens = 1024
        self.clock = time.monotonic
        self._cache: dict[str, float] = {}  # prefix digest -> when it expires
        self.usages: list[dict[str, int]] = []  # what each answer reported, in order
        # Answers whose client closed the connection before the answer was over.
        self.streams_cut = 0
        # Bedrock Guardrails: a request carrying guardrailConfig is blocked after this many
        # pieces of text (None: never), with this message; GetGuardrail answers from
        # `guardrails`, keyed by (id, version).
        self.intervention_after_chunks: int | None = None
        self.guardrail_message = "Sorry, the model cannot answer this question."
        self.guardrails: dict[tuple[str, str], dict[str, Any]] = {}
        # Picks a fault kind for a request by what it holds (None: answer it), e.g. to fail
        # only the requests of one kind.
        self.fault_for: Callable[[dict[str, Any]], str | None] | None = None
        # Why a Converse (not streamed) reply ended: end_turn, max_tokens, guardrail_intervened…
        self.converse_stop_reason = "end_turn"

    handler_class = _BedrockHandler
    fault_kinds = FAULT_KINDS

    @property
    def url(self) -> str:
        return self.base_url

    # --- recording -------------------------------------------------------------------------

    def last_messages(self) -> list[dict[str, Any]]:
        return self.last_request.messages

    def all_text_sent(self, request: BedrockRequest | None = None) -> str:
        """System prompt and every message's text, joined, for `in` assertions."""
        request = request or self.last_request
        parts = [request.system_text] if request.system_text else []
        parts += [content_text(m.get("content", [])) for m in request.messages]
        return "\n".join(parts)

    def reset(self) -> None:
        super().reset()
        with self._lock:
            self.max_in_flight = self.in_flight
            self._cache.clear()
            self.usages.clear()
            self.streams_cut = 0

    def _account_cache(self, body: dict[str, Any]) -> tuple[int, int]:
        """(tokens read from the cache, tokens written to it) for this request."""
        points, ends = cache_layout(body)
        if not points:
            return 0, 0
        last = points[-1][0]
        now = self.clock()
        with self._lock:
            hits = [p for p in [*ends, last]
                    if p.tokens <= last.tokens and self._cache.get(p.digest, 0) > now]
            read = max(hits, key=lambda p: p.tokens, default=None)
            if read is not None:
                self._cache[read.digest] = max(self._cache[read.digest], now + 300)
            for prefix, ttl in points:
                if prefix.tokens >= self.cache_minimum_tokens:
                    self._cache[prefix.digest] = now + (3600 if ttl == "1h" else 300)
        read_tokens = read.tokens if read is not None else 0
        if last.tokens < self.cache_minimum_tokens:
            return read_tokens, 0
        return read_tokens, last.tokens - read_tokens

    # --- behaviour -------------------------------------------------------------------------

    def add_guardrail(self, identifier: str, version: str, *, status: str = "READY") -> None:
        self.guardrails[(identifier, version)] = {
            "name": f"guardrail-{identifier}", "guardrailId": identifier,
            "guardrailArn": f"arn:aws:bedrock:us-east-1:123456789012:guardrail/{identifier}",
            "version": version, "status": status,
            "createdAt": "2026-01-01T00:00:00Z", "updatedAt": "2026-01-01T00:00:00Z",
            "blockedInputMessaging": self.guardrail_message,
            "blockedOutputsMessaging": self.guardrail_message,
        }

    def fail_next(
        self,
        kind: str,
        times: int = 1,
        *,
        exception: str = "throttlingException",
        message: str | None = None,
    ) -> None:
        """Make the next `times` requests fail as `kind` (see FAULT_KINDS).

        `exception` picks the event-stream exception for "stream_error"
        (throttlingException, modelStreamErrorException, ...).
        """
        if kind == "stream_error" and exception not in STREAM_EXCEPTIONS:
            raise ValueError(f"unknown stream exception {exception!r}")
        self._queue_fault(_Fault(kind, times, message, exception))

    def default_reply(self, body: dict[str, Any]) -> str:
        """Echoes the start of the last user turn, so each answer shows what it answers."""
        last_user = next((m for m in reversed(body.get("messages", [])) if m.get("role") == "user"), None)
        question = content_text(last_user.get("content", [])) if last_user else ""
        return f"Answer to: {question[:40]}"

    def _record(self, request: BedrockRequest) -> _Fault | None:
        with self._lock:
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        return super()._record(request)

    def _finish(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _pause(self, seconds: float) -> None:
        if seconds > 0:
            self.stopping.wait(seconds)
