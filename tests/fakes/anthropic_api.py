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

import uuid
from typing import Any

from tests.fakes._model_server import (
    FakeSSEServer,
    JSONRequest,
    Reply,
    SSEHandler,
    StreamFault,
    count_prompt_tokens,
    split_reply,
)

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

class _AnthropicHandler(SSEHandler):
    def answer(self, request: JSONRequest, fault: StreamFault | None) -> None:
        if request.path.split("?", 1)[0] != "/v1/messages":
            self.send_error_json(404, "not_found_error", f"Not found: {request.path}")
            return
        if fault and not fault.mid_stream:
            status, error_type, message = FAULTS[fault.kind]
            self.send_error_json(status, error_type, fault.message or message)
            return
        body = request.body
        pieces, cut = split_reply(self.owner.reply_for(body), int(body["max_tokens"]))
        stop_reason = "max_tokens" if cut else "end_turn"
        message_id = f"msg_{uuid.uuid4().hex[:24]}"
        usage = {"input_tokens": count_prompt_tokens(body), "output_tokens": len(pieces)}
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
        self.start_event_stream({"request-id": _request_id()})
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
        self.write_event(data, event=name)

    def send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        super().send_json(status, payload, {"request-id": _request_id(), **(headers or {})})

    def send_error_json(self, status: int, error_type: str, message: str) -> None:
        self.send_json(status, _error_body(error_type, message))


class FakeAnthropic(FakeSSEServer):
    """The Messages API over HTTP with a configurable reply and faults."""

    handler_class = _AnthropicHandler
    fault_kinds = FAULTS

    def __init__(self, *, reply: Reply = "Hello from the fake Anthropic API.") -> None:
        super().__init__(reply=reply)

    @property
    def url(self) -> str:
        """For ANTHROPIC_BASE_URL: the SDK appends `/v1/messages`."""
        return self.base_url


def _request_id() -> str:
    return f"req_{uuid.uuid4().hex[:24]}"


def _error_body(error_type: str, message: str) -> dict[str, Any]:
    return {"type": "error", "error": {"type": error_type, "message": message}}
