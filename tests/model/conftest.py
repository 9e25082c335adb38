"""Fixtures for the model layer: fake Anthropic and OpenAI-compatible servers, and settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from bot.config import Settings
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI


@pytest.fixture
def fake_anthropic() -> Iterator[FakeAnthropic]:
    with FakeAnthropic() as fake:
        yield fake


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as fake:
        yield fake


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Settings from keyword arguments only (no `.env`); one attempt, so errors surface at once."""

    def make(**values: Any) -> Settings:
        return Settings(_env_file=None, **{"model_max_attempts": 1, **values})

    return make
