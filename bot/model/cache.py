"""Prompt caching: each provider's cache markers where the core says the stable prefix ends.

The core's Prompt names the messages after which the next turn sends the same bytes again
(`Prompt.prefix_ends`: the system prompt, the replayed history). Bedrock Converse marks such a
point with a `cachePoint` block after the content; the Anthropic API with `cache_control` on
the last content block before it. Other providers get the prompt unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from langchain_core.messages import BaseMessage

from bot.config import Settings
from bot.core.prompt import Prompt

Marker = Callable[[Prompt], list[BaseMessage]]

# ARN resource types whose name says which model it is; the others (application inference
# profiles, provisioned or custom models) do not, and the factory takes them for Claude.
_NAMED_ARN_RESOURCES = ("foundation-model", "inference-profile")


def is_known_to_cache(settings: Settings) -> bool:
    """Claude models cache prompts; the Anthropic API serves only Claude models."""
    if settings.model_provider == "anthropic":
        return True
    if settings.model_provider != "bedrock":
        return False
    model_id = settings.resolved_model_id.lower()
    if "anthropic" in model_id or "claude" in model_id:
        return True
    if model_id.startswith("arn:"):
        resource_type = model_id.split(":", 5)[-1].split("/", 1)[0]
        return resource_type not in _NAMED_ARN_RESOURCES
    return False


def build_cache_marker(settings: Settings) -> Marker | None:
    """What marks the cache points for this provider, or None when none are to be sent
    (PROMPT_CACHE=false, a model not known to cache, a provider without prompt caching)."""
    wanted = settings.prompt_cache if settings.prompt_cache is not None else is_known_to_cache(settings)
    if not wanted:
        return None
    ttl = settings.prompt_cache_ttl
    if settings.model_provider == "bedrock":
        return lambda prompt: with_cache_points(prompt, ttl=ttl)
    if settings.model_provider == "anthropic":
        return lambda prompt: with_cache_control(prompt, ttl=ttl)
    return None


def with_cache_points(prompt: Prompt, *, ttl: str) -> list[BaseMessage]:
    """Bedrock Converse: a `cachePoint` block after each end of the stable prefix."""
    point: dict[str, Any] = {"type": "default"}
    if ttl != "5m":  # 5 minutes is the default; "ttl" is sent only for longer ones
        point["ttl"] = ttl
    return _mark(prompt, lambda blocks: [*map(_converse_text, blocks), {"cachePoint": point}])


def _converse_text(block: dict[str, Any]) -> dict[str, Any]:
    """A text block in Converse's own shape, which langchain-aws sends as it is; a LangChain
    text block costs a type-hint walk there (langchain-core's is_data_content_block), about
    0.6 ms a marked message, two a turn (docs/prompt-cache.md, "CPU")."""
    return {"text": block["text"]} if block.keys() == {"type", "text"} and block["type"] == "text" else block


def with_cache_control(prompt: Prompt, *, ttl: str) -> list[BaseMessage]:
    """Anthropic Messages API: `cache_control` on the last block before each end."""
    control = {"type": "ephemeral"}
    if ttl != "5m":
        control["ttl"] = ttl
    return _mark(prompt, lambda blocks: [*blocks[:-1], {**blocks[-1], "cache_control": control}])


def _mark(
    prompt: Prompt, mark: Callable[[list[dict[str, Any]]], list[dict[str, Any]]]
) -> list[BaseMessage]:
    messages = list(prompt.messages)
    for index in prompt.prefix_ends:
        message = messages[index]
        messages[index] = message.model_copy(update={"content": mark(_blocks(message))})
    return messages


def _blocks(message: BaseMessage) -> list[dict[str, Any]]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    return [b if isinstance(b, dict) else {"type": "text", "text": b} for b in message.content]
