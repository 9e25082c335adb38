"""MODEL_PROVIDER=anthropic: the real ChatAnthropic against a wire-level fake Messages API."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.language_models import BaseChatModel

from bot.config import Settings
from bot.model.errors import ModelFailure, classify_model_error, is_retryable
from bot.model.factory import build_chat_model
from tests.fakes.anthropic_api import FakeAnthropic
from tests.model.streaming import stream_until_error

CONVERSATION = [
    ("system", "You are a test bot."),
    ("human", "Alice: What is 2+2?"),
    ("ai", "4"),
    ("human", "Alice: And times 3?"),
]


@pytest.fixture
def model(fake_anthropic: FakeAnthropic, make_settings: Callable[..., Settings]) -> BaseChatModel:
    return build_chat_model(make_settings(
        model_provider="anthropic",
        anthropic_api_key="sk-ant-test",
        anthropic_base_url=fake_anthropic.url,
        model_id="claude-sonnet-4-6",
        model_temperature=0.4,
        model_max_tokens=300,
        model_top_k=12,
    ))


def test_streams_the_answer_in_pieces(model: BaseChatModel, fake_anthropic: FakeAnthropic) -> None:
    fake_anthropic.reply = "It is twelve."

    pieces = [chunk.text for chunk in model.stream(CONVERSATION)]

    assert "".join(pieces) == "It is twelve."
    assert len([piece for piece in pieces if piece]) == 3


def test_request_puts_the_system_prompt_apart_from_the_turns(
    model: BaseChatModel, fake_anthropic: FakeAnthropic
) -> None:
    list(model.stream(CONVERSATION))

    request = fake_anthropic.last_request
    assert request.path == "/v1/messages"
    assert request.body["stream"] is True
    assert request.body["model"] == "claude-sonnet-4-6"
    assert request.body["system"] == "You are a test bot."
    assert request.messages == [
        {"role": "user", "content": "Alice: What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "Alice: And times 3?"},
    ]
    assert request.body["max_tokens"] == 300
    assert request.body["temperature"] == 0.4
    assert request.body["top_k"] == 12
    assert "sk-ant-test" in request.headers.get("x-api-key", request.headers.get("authorization"))


def test_non_streaming_call_gets_the_json_message(
    model: BaseChatModel, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.reply = "one two three four"

    answer = model.invoke("Count", max_tokens=2)

    assert answer.text == "one two"
    assert answer.response_metadata["stop_reason"] == "max_tokens"
    assert "stream" not in fake_anthropic.last_request.body


@pytest.mark.parametrize(
    ("kind", "failure"),
    [
        ("overloaded", ModelFailure.BUSY),
        ("rate_limit", ModelFailure.BUSY),
        ("auth", ModelFailure.ACCESS),
        ("not_found", ModelFailure.NOT_FOUND),
        ("too_long", ModelFailure.TOO_LONG),
        ("invalid", ModelFailure.INVALID),
    ],
)
@pytest.mark.parametrize("mid_stream", [False, True], ids=["http_error", "error_event"])
def test_errors_are_classified(
    model: BaseChatModel,
    fake_anthropic: FakeAnthropic,
    kind: str,
    failure: ModelFailure,
    mid_stream: bool,
) -> None:
    fake_anthropic.fail_next(kind, mid_stream=mid_stream)
    shown, error = stream_until_error(model, "Hi")

    assert classify_model_error(error) is failure
    # After an error event the first piece was already shown; a retry would repeat it.
    assert bool(shown) is mid_stream


def test_overload_before_any_text_can_be_retried(
    model: BaseChatModel, fake_anthropic: FakeAnthropic
) -> None:
    fake_anthropic.fail_next("overloaded")
    fake_anthropic.reply = "Back again."

    shown, error = stream_until_error(model, "Hi")
    assert not shown
    assert is_retryable(classify_model_error(error))

    assert "".join(chunk.text for chunk in model.stream("Hi")) == "Back again."
