"""What a turn may differ in from channel to channel (bot/profiles.py resolves it)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from bot.core.prompt import Prompt


@dataclass(frozen=True)
class TurnProfile:
    system_prompt: str
    token_budget: int
    model: BaseChatModel
    # The provider's prompt-cache markers for this model (bot.model.cache), if any.
    mark_cache: Callable[[Prompt], list[BaseMessage]] | None = None
    # What the usage records name (pricing, reports).
    model_id: str = ""
