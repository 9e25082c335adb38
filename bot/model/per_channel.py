"""One chat model per model id and temperature the channel profiles name, built on first use
and shared by every turn that asks for it."""

from __future__ import annotations

import threading
from collections.abc import Callable

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from bot.config import Settings
from bot.core.profile import TurnProfile
from bot.core.prompt import Prompt
from bot.model.cache import build_cache_marker
from bot.model.factory import build_chat_model
from bot.profiles import ChannelProfile

Marker = Callable[[Prompt], list[BaseMessage]] | None


class ChannelModels:
    def __init__(self, settings: Settings, default: BaseChatModel) -> None:
        self._settings = settings
        self._lock = threading.Lock()
        key = (settings.resolved_model_id, settings.model_temperature)
        self._models: dict[tuple[str, float], tuple[BaseChatModel, Marker]] = {
            key: (default, build_cache_marker(settings)),
        }

    def turn_profile(self, profile: ChannelProfile) -> TurnProfile:
        model, marker = self._model_for(profile.model_id, profile.temperature)
        return TurnProfile(profile.system_prompt, profile.token_budget, model, marker,
                           model_id=profile.model_id)

    def _model_for(self, model_id: str, temperature: float) -> tuple[BaseChatModel, Marker]:
        key = (model_id, temperature)
        with self._lock:
            if key not in self._models:
                variant = self._settings.model_copy(
                    update={"model_id": model_id, "model_temperature": temperature}
                )
                self._models[key] = (build_chat_model(variant), build_cache_marker(variant))
            return self._models[key]
