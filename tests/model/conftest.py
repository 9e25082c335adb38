"""Fixtures for the model layer: fake Anthropic and OpenAI-compatible servers, and settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from bot.config import Settings

# Fixtures: importing them here is what makes them available to this folder's tests.
from tests.support.model_fixtures import fake_anthropic as fake_anthropic
from tests.support.model_fixtures import fake_openai as fake_openai


@pytest.fixture
def make_settings() -> Callable[..., Settings]:
    """Settings from keyword arguments only (no `.env`); one attempt, so errors surface at once."""

    def make(**values: Any) -> Settings:
        # _env_file is pydantic-settings' own init option, unknown to mypy without its plugin.
        return Settings(_env_file=None, **{"model_max_attempts": 1, **values})  # type: ignore[call-arg]

    return make
