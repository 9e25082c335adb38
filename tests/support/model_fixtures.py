"""Fixtures for the Anthropic and OpenAI-compatible fakes, shared by the model and offline tiers.

A conftest that needs them imports them by name (pytest collects fixtures a conftest imports).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

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
