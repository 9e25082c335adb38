"""A local server speaking OpenAI's Chat Completions API, as Ollama, vLLM and llama.cpp do.

`POST /v1/chat/completions` answers with `reply` (text, or a callable given the request body),
as one JSON completion or, when the request says `"stream": true`, as SSE `data: {...}` chunks
ending with `data: [DONE]`. Each request is recorded for assertions on what was sent.

    with FakeOpenAI(reply="Hello!") as api:
        model = ChatOpenAI(model="llama3", api_key="x", base_url=api.url)
        assert model.invoke("Hi").content == "Hello!"
"""

from __future__ import annotations

import time
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


class _OpenAIHandler(SSEHandler):
    def answer(self, request: JSONRequest, fault: StreamFault | None) -> None:
        if request.path.split("?", 1)[0] != "/v1/chat/completions":
            self.send_json(404, _error_body("invalid_request_error", None, "Not found"))
            return
        if fault and not fault.mid_stream:
            status, error_type, code, message = FAULTS[fault.kind]
            self.send_json(status, _error_body(error_type, code, fault.message or message))
            return
        body = request.body
        limit = body.get("max_completion_tokens", body.get("max_tokens"))
        pieces, cut = split_reply(self.owner.reply_for(body), int(limit) if limit is not None else None)
        finish_reason = "length" if cut else "stop"
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        prompt_tokens = count_prompt_tokens(body)
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

        self.start_event_stream()
        self.write_event(chunk({"role": "assistant", "content": ""}))
        for piece in pieces:
            self.write_event(chunk({"content": piece}))
            if fault:  # a failure after HTTP 200 arrives as a chunk holding only "error"
                _, error_type, code, message = FAULTS[fault.kind]
                self.write_event(_error_body(error_type, code, fault.message or message))
                return
        self.write_event(chunk({}, finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            self.write_event({**chunk({}), "choices": [], "usage": usage})
        self.write_event("[DONE]")


class FakeOpenAI(FakeSSEServer):
    """Chat Completions over HTTP with a configurable reply and faults."""

    handler_class = _OpenAIHandler
    fault_kinds = FAULTS

    def __init__(self, *, reply: Reply = "Hello from the fake OpenAI-compatible server.") -> None:
        super().__init__(reply=reply)

    @property
    def url(self) -> str:
        """For OPENAI_BASE_URL, ending in `/v1` like Ollama's and vLLM's."""
        return f"{self.base_url}/v1"


def _error_body(error_type: str, code: str | None, message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": error_type, "param": None, "code": code}}
