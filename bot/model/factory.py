"""Build the one chat model a process shares, for whichever provider the settings name.

The model is built once at start-up and used by every conversation at the same time, so its
HTTP client is sized and tuned for that here (pool size, timeouts, retries).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any
from urllib.parse import urlparse

from langchain.chat_models import init_chat_model
from langchain_core.language_models import BaseChatModel

from bot.config import PROVIDERS, ConfigError, Settings

CONNECT_TIMEOUT_SECONDS = 5.0


def build_chat_model(settings: Settings) -> BaseChatModel:
    """The chat model for `settings.model_provider`, or ConfigError naming what is missing."""
    builder = _BUILDERS.get(settings.model_provider)
    if builder is None:
        raise ConfigError(
            f"MODEL_PROVIDER is not one of {', '.join(PROVIDERS)}: set it to one of them"
        )
    return builder(settings)


def _build_bedrock(settings: Settings) -> BaseChatModel:
    import boto3
    from botocore.config import Config

    from bot.model.guardrails import GuardedChatBedrockConverse, guardrail_config

    config = Config(
        region_name=settings.aws_region,
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=settings.model_timeout_seconds,
        # Every listener thread may stream an answer at once; botocore's default pool of 10
        # made the 11th conversation wait for a connection (docs/scaling.md).
        max_pool_connections=settings.worker_threads,
        # "standard" backs off only the throttled call; "adaptive" would also hold back every
        # other conversation sharing this client behind its client-side token bucket.
        # botocore's "max_attempts" counts retries only; MODEL_MAX_ATTEMPTS counts the first try.
        retries={"mode": "standard", "total_max_attempts": settings.model_max_attempts},
        tcp_keepalive=True,
        # botocore re-checks every field of the request against the service model before
        # sending it: 0.4 ms of CPU per answer for a 100-message conversation, spent checking
        # what langchain-aws built from the model's own schema. Bedrock validates it anyway.
        parameter_validation=False,
    )
    # A session of our own: boto3's default session is a module global that is not safe to
    # create clients from while other threads use it.
    session = boto3.session.Session(region_name=settings.aws_region)
    endpoint_url = settings.bedrock_endpoint_url or None
    runtime = session.client("bedrock-runtime", config=config, endpoint_url=endpoint_url)
    # Control plane: langchain-aws only calls it to resolve application inference profiles.
    control = session.client("bedrock", config=config, endpoint_url=endpoint_url)
    model_id = settings.resolved_model_id
    options: dict[str, Any] = {}
    if settings.model_top_k is not None:
        # Converse has no top_k in inferenceConfig; Claude takes it as a model-specific field.
        options["additional_model_request_fields"] = {"top_k": settings.model_top_k}
    if model_id.startswith("arn:"):
        options["provider"] = "anthropic"  # an ARN does not name its provider; this bot is Claude's
    options |= dict(
        client=runtime,
        bedrock_client=control,
        region_name=settings.aws_region,
        endpoint_url=settings.bedrock_endpoint_url,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,
    )
    guardrail = guardrail_config(settings)
    if guardrail is not None:
        return GuardedChatBedrockConverse(
            model=model_id, guardrails=guardrail,
            show_guardrail_message=settings.guardrail_show_message, **options,
        )
    return init_chat_model(model_id, model_provider="bedrock_converse", **options)


def _build_anthropic(settings: Settings) -> BaseChatModel:
    _require_package("langchain_anthropic", extra="anthropic")
    settings.require("anthropic_api_key")
    return init_chat_model(
        settings.resolved_model_id,
        model_provider="anthropic",
        api_key=settings.secret("anthropic_api_key"),
        base_url=settings.anthropic_base_url,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,
        top_k=settings.model_top_k,
        timeout=settings.model_timeout_seconds,
        max_retries=settings.model_max_attempts - 1,  # the SDK counts retries, not attempts
    )


def _build_openai(settings: Settings) -> BaseChatModel:
    _require_package("langchain_openai", extra="openai")
    settings.require("openai_base_url")
    base_url = settings.openai_base_url or ""
    options: dict[str, Any] = {"max_tokens": settings.model_max_tokens}
    if not _is_openai_itself(base_url):
        # langchain-openai renames max_tokens to max_completion_tokens, which older Ollama and
        # llama.cpp servers ignore; top_k is not an OpenAI field but vLLM and llama.cpp take it.
        extra_body: dict[str, Any] = {"max_tokens": settings.model_max_tokens}
        if settings.model_top_k is not None:
            extra_body["top_k"] = settings.model_top_k
        options = {"extra_body": extra_body}
    return init_chat_model(
        settings.resolved_model_id,
        model_provider="openai",
        base_url=base_url,
        api_key=settings.secret("openai_api_key") or "not-needed",  # local servers want none
        temperature=settings.model_temperature,
        timeout=settings.model_timeout_seconds,
        max_retries=settings.model_max_attempts - 1,
        use_responses_api=False,  # compatible servers speak Chat Completions only
        **options,
    )


def _build_local(settings: Settings) -> BaseChatModel:
    _require_package("llama_cpp", extra="local")
    from bot.model.local_llama import LocalLlamaChatModel, resolve_local_model_path

    return LocalLlamaChatModel(
        model_path=resolve_local_model_path(settings.local_model_path),
        model_name=settings.resolved_model_id,
        temperature=settings.model_temperature,
        max_tokens=settings.model_max_tokens,
        top_k=settings.model_top_k,
    )


def _is_openai_itself(base_url: str) -> bool:
    return (urlparse(base_url).hostname or "").endswith("api.openai.com")


def _require_package(module: str, *, extra: str) -> None:
    try:
        importlib.import_module(module)
    except ImportError:
        raise ConfigError(
            f"MODEL_PROVIDER={extra} needs the {module} package: pip install '.[{extra}]'"
        ) from None


_BUILDERS: dict[str, Callable[[Settings], BaseChatModel]] = {
    "bedrock": _build_bedrock,
    "anthropic": _build_anthropic,
    "openai": _build_openai,
    "local": _build_local,
}
