"""The console's pieces in-process: the terminal reply sink, ts values, and the provider choice."""

from __future__ import annotations

import io

import pytest

from bot.config import ConfigError, Settings
from bot.console import ConsoleSink
from bot.core.records import TsClock
from bot.model.access import (
    LOCAL_CONTEXT_TOKEN_BUDGET,
    LOCAL_MAX_TOKENS,
    choose_console_model,
)


def test_sink_streams_pieces_then_ends_the_line_with_the_note() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)

    sink.show_status()
    sink.write("Hello")
    sink.write(", Lee.")
    reply_id = sink.finish(note="_I can see the last 4 messages of this thread._")

    assert out.getvalue() == "Hello, Lee.\nI can see the last 4 messages of this thread.\n"
    assert reply_id == ""


def test_sink_failure_after_partial_text_starts_a_new_line() -> None:
    out = io.StringIO()
    sink = ConsoleSink(out)

    sink.write("Half an ans")
    sink.fail("Something went wrong while I was answering. Please try again.")

    assert out.getvalue().splitlines() == [
        "Half an ans", "Something went wrong while I was answering. Please try again."]


def test_ts_values_increase_even_when_the_clock_does_not() -> None:
    clock = TsClock(lambda: 1700000000.5)

    values = [clock.next() for _ in range(3)]

    assert values == ["1700000000.500000", "1700000000.500001", "1700000000.500002"]


@pytest.fixture
def no_aws_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.usefixtures("no_aws_credentials")
def test_fallback_to_the_offline_model_sizes_it_for_its_context_window() -> None:
    choice = choose_console_model(Settings(_env_file=None, model_id="us.some-bedrock-model"))

    assert choice.settings.model_provider == "local"
    assert choice.settings.resolved_model_id == "smollm2-135m-instruct"
    assert choice.settings.model_max_tokens == LOCAL_MAX_TOKENS
    assert choice.settings.context_token_budget == LOCAL_CONTEXT_TOKEN_BUDGET
    assert choice.note.startswith("Using the offline model smollm2-135m-instruct")


@pytest.mark.usefixtures("no_aws_credentials")
def test_explicit_sizes_and_an_explicit_local_provider_are_kept() -> None:
    choice = choose_console_model(
        Settings(_env_file=None, model_provider="local", model_max_tokens=32)
    )

    assert choice.note == ""
    assert choice.settings.model_max_tokens == 32
    assert choice.settings.context_token_budget == LOCAL_CONTEXT_TOKEN_BUDGET
    with pytest.raises(ConfigError, match="^MODEL_PROVIDER=bedrock but no AWS credentials"):
        choose_console_model(Settings(_env_file=None, model_provider="bedrock"))


def test_with_aws_credentials_the_default_provider_stays() -> None:
    # tests/conftest.py gives every test fake AWS credentials in the environment.
    settings = Settings(_env_file=None)

    choice = choose_console_model(settings)

    assert choice.settings is settings and choice.note == ""
