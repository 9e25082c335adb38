"""MODEL_PROVIDER=openai: the real ChatOpenAI against a fake OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from langchain_core.language_models import BaseChatModel

from bot.config import Settings
from bot.model.errors import ModelFailure, classify_model_error
from bot.model.factory import build_chat_model
from tests.fakes.openai_api import FakeOpenAI
from tests.model.streaming import stream_until_error

CONVERSATION = [
    ("system", "You are a test bot."),
    ("human", "Alice: What is 2+2?"),
    ("ai", "4"),
    ("human", "Alice: And times 3?"),
]


@pytest.fixture
def model(fake_openai: FakeOpenAI, make_settings: Callable[..., Settings]) -> BaseChatModel:
    return build_chat_model(make_settings(
        model_provider="openai",
        openai_base_url=fake_openai.url,
        model_id="llama3.2",
        model_temperature=0.4,
        model_max_tokens=300,
    ))


def test_streams_the_answer_in_pieces(model: BaseChatModel, fake_openai: FakeOpenAI) -> None:
    fake_openai.reply = "It is twelve."

    pieces = [chunk.text for chunk in model.stream(CONVERSATION)]

    assert "".join(pieces) == "It is twelve."
    assert len([piece for piece in pieces if piece]) == 3


def test_request_has_the_system_prompt_as_the_first_message(
    model: BaseChatModel, fake_openai: FakeOpenAI
) -> None:
    list(model.stream(CONVERSATION))

    request = fake_openai.last_request
    assert request.path == "/v1/chat/completions"
    assert request.body["stream"] is True
    assert request.body["model"] == "llama3.2"
    assert request.messages == [
        {"role": "system", "content": "You are a test bot."},
        {"role": "user", "content": "Alice: What is 2+2?"},
        {"role": "assistant", "content": "4"},
        {"role": "user", "content": "Alice: And times 3?"},
    ]
    # max_tokens, not max_completion_tokens: older Ollama and llama.cpp servers read only that.
    assert request.body["max_tokens"] == 300
    assert "max_completion_tokens" not in request.body
    assert "top_k" not in request.body
    assert request.body["temperature"] == 0.4
    assert request.headers["authorization"] == "Bearer not-needed"


def test_api_key_and_top_k_are_sent_when_set(
    fake_openai: FakeOpenAI, make_settings: Callable[..., Settings]
) -> None:
    model = build_chat_model(make_settings(
        model_provider="openai", openai_base_url=fake_openai.url, openai_api_key="sk-vllm",
        model_top_k=5,
    ))

    model.invoke("Hi")

    request = fake_openai.last_request
    assert request.headers["authorization"] == "Bearer sk-vllm"
    assert request.body["top_k"] == 5


def test_non_streaming_call_gets_the_json_completion(
    model: BaseChatModel, fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = "one two three"

    answer = model.invoke("Count")

    assert answer.text == "one two three"
    assert answer.response_metadata["finish_reason"] == "stop"
    assert not fake_openai.last_request.body.get("stream")


@pytest.mark.parametrize(
    ("kind", "failure"),
    [
        ("rate_limit", ModelFailure.BUSY),
        ("unavailable", ModelFailure.BUSY),
        ("auth", ModelFailure.ACCESS),
        ("not_found", ModelFailure.NOT_FOUND),
        ("too_long", ModelFailure.TOO_LONG),
        ("invalid", ModelFailure.INVALID),
    ],
)
@pytest.mark.parametrize("mid_stream", [False, True], ids=["http_error", "error_chunk"])
def test_errors_are_classified(
    model: BaseChatModel,
    fake_openai: FakeOpenAI,
    kind: str,
    failure: ModelFailure,
    mid_stream: bool,
) -> None:
    fake_openai.fail_next(kind, mid_stream=mid_stream)
    shown, error = stream_until_error(model, "Hi")

    assert classify_model_error(error) is failure
    assert bool(shown) is mid_stream
