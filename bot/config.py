"""One frozen settings object, read from the environment (and `.env`) once at start-up.

No other module reads `os.environ` (but bot/lambda_env.py, for the two variables only a Lambda
has): everything configurable is a field here, named after the environment variable that sets
it (see the README's configuration table).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated, Literal

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_BEDROCK_MODEL_ID = "us.anthropic.claude-sonnet-4-6"
DEFAULT_SYSTEM_PROMPT = (
    "You are Claude, a helpful assistant answering in a Slack thread. "
    "Be concise and use Markdown where it helps. "
    "When several people write in the thread, each message starts with the author's name."
)
PROVIDERS = ("bedrock", "anthropic", "openai", "local")

Provider = Literal["bedrock", "anthropic", "openai", "local"]


class ConfigError(Exception):
    """A configuration problem, worded as one line that names the variable and the fix."""


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", frozen=True
    )

    # Slack
    slack_bot_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = None
    slack_app_token: SecretStr | None = None
    slack_api_url: str = "https://slack.com/api/"
    slack_timeout_seconds: float = Field(default=15, gt=0)
    # Files shared in threads (docs/files.md): where their bytes may be downloaded from
    # (host[:port]), the cache of prepared files per process, and the largest download.
    slack_file_hosts: Annotated[tuple[str, ...], NoDecode] = ("files.slack.com",)
    file_cache_mb: int = Field(default=64, ge=0)
    file_download_max_mb: int = Field(default=20, ge=1, le=200)

    # Store
    dynamodb_table: str | None = None
    dynamodb_endpoint_url: str | None = None
    aws_region: str = "us-east-1"
    history_ttl_days: int = Field(default=90, ge=0)
    sqlite_path: Path = Path(".bot/history.sqlite3")
    claim_ttl_seconds: int = Field(default=3600, ge=60)
    claim_takeover_seconds: int = Field(default=300, ge=10)

    # Model
    model_provider: Provider = "bedrock"
    model_id: str | None = None
    bedrock_endpoint_url: str | None = None
    model_temperature: float = Field(default=0.5, ge=0, le=1)
    model_top_k: int | None = Field(default=None, ge=1)
    model_max_tokens: int = Field(default=4096, ge=1)
    model_timeout_seconds: float = Field(default=120, gt=0)
    model_max_attempts: int = Field(default=4, ge=1)
    system_prompt: str = DEFAULT_SYSTEM_PROMPT
    context_token_budget: int = Field(default=24000, ge=200)
    # None: on for models known to cache prompts (bot.model.cache).
    prompt_cache: bool | None = None
    prompt_cache_ttl: Literal["5m", "1h"] = "5m"
    # Messages that leave the window are summarised (by this model; None: the turn's own).
    summaries: bool = True
    summary_model_id: str | None = None
    # USD per million tokens by model id: {"<id or part of it>": [input, output, cache read,
    # cache write]}, over bot.pricing's defaults.
    model_prices: Annotated[dict[str, tuple[float, float, float, float]], NoDecode] = {}
    anthropic_api_key: SecretStr | None = None
    anthropic_base_url: str | None = None
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    local_model_path: Path | None = None
    # Amazon Bedrock Guardrails, applied to every Bedrock request (bot/model/guardrails.py).
    guardrail_id: str | None = None
    guardrail_version: str | None = None
    guardrail_trace: Literal["enabled", "disabled", "enabled_full"] = "disabled"
    guardrail_stream_mode: Literal["sync", "async"] = "sync"
    guardrail_show_message: bool = False

    # Behaviour
    allowed_channel_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    allowed_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    reply_without_mention_in_threads: bool = True
    rate_limit_per_minute: int = Field(default=0, ge=0)
    # Per-channel overrides of the model and behaviour settings (bot/profiles.py).
    channel_profiles_file: Path | None = None
    # Input plus output tokens one person may use per UTC day (0: no cap); admins are never capped.
    daily_tokens_per_user: int = Field(default=0, ge=0)
    admin_user_ids: Annotated[frozenset[str], NoDecode] = frozenset()
    # Slack agent sessions: the native Stop button while answering (bot/slack/sessions.py).
    agent_sessions: bool = True
    loading_messages: Annotated[tuple[str, ...], NoDecode] = ()
    assistant_greeting: str = "Hi! I'm Claude. Ask me anything, I remember this whole thread."
    suggested_prompts: Annotated[tuple[str, ...], NoDecode] = (
        "Summarize the key points of a document I paste",
        "Help me write a polite reply",
        "Explain a concept simply",
    )
    log_level: str = "INFO"
    log_message_content: bool = False

    # HTTP / concurrency
    port: int = Field(default=3000, ge=1, le=65535)
    worker_threads: int = Field(default=128, ge=1)
    # SIGTERM: answers still streaming after this long stop with a note (orchestrators kill at 30 s).
    shutdown_grace_seconds: float = Field(default=20, ge=0)
    # One process acknowledges, these answer (0: one process does both). Default: one per CPU, up to 4.
    worker_processes: int = Field(default_factory=lambda: min(4, os.cpu_count() or 1), ge=0)
    stream_buffer_chars: int = Field(default=400, ge=1)
    update_interval_seconds: float = Field(default=1.0, ge=0)

    @field_validator("model_prices", mode="before")
    @classmethod
    def _parse_prices(cls, value: object) -> object:
        if isinstance(value, str):
            return json.loads(value) if value.strip() else {}
        return value

    @field_validator(
        "allowed_channel_ids", "allowed_user_ids", "admin_user_ids", "loading_messages",
        "suggested_prompts", "slack_file_hosts", mode="before",
    )
    @classmethod
    def _split_csv(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("channel_profiles_file", "guardrail_id", "guardrail_version", mode="before")
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        # deploy/template.yaml passes an empty parameter as "".
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("guardrail_trace", mode="before")
    @classmethod
    def _trace_as_bool(cls, value: object) -> object:
        if isinstance(value, str):
            return {"true": "enabled", "false": "disabled"}.get(value.strip().lower(), value)
        return value

    @model_validator(mode="after")
    def _guardrail_complete(self) -> Settings:
        if self.guardrail_id and not self.guardrail_version:
            raise ConfigError("GUARDRAIL_VERSION is not set: set it to the guardrail's version "
                              "number (or DRAFT) to use GUARDRAIL_ID")
        if self.guardrail_version and not self.guardrail_id:
            raise ConfigError("GUARDRAIL_ID is not set: set it to the guardrail's id or ARN, "
                              "or unset GUARDRAIL_VERSION")
        if self.guardrail_id and self.model_provider != "bedrock":
            raise ConfigError(f"GUARDRAIL_ID works with MODEL_PROVIDER=bedrock only (it is "
                              f"{self.model_provider}): unset it or use Bedrock")
        return self

    @field_validator("slack_file_hosts")
    @classmethod
    def _check_hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for entry in value:
            host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
            if not host or "/" in entry or (port and not port.isdigit()):
                raise ValueError(f"{entry!r} is not host or host:port")
        return value

    @property
    def resolved_model_id(self) -> str:
        if self.model_id:
            return self.model_id
        return {
            "bedrock": DEFAULT_BEDROCK_MODEL_ID,
            "anthropic": "claude-sonnet-4-6",
            "openai": "gpt-4o-mini",
            "local": "smollm2-135m-instruct",
        }[self.model_provider]

    @property
    def history_ttl_seconds(self) -> int:
        return self.history_ttl_days * 86400

    def secret(self, name: str) -> str | None:
        value = getattr(self, name)
        return value.get_secret_value() if value is not None else None

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the first missing variable among `names`."""
        for name in names:
            value = self.secret(name) if name in _SECRETS else getattr(self, name)
            if not value:
                raise ConfigError(f"{name.upper()} is not set: {_HINTS.get(name, 'set it')}")


_SECRETS = {
    "slack_bot_token", "slack_signing_secret", "slack_app_token",
    "anthropic_api_key", "openai_api_key",
}
_HINTS = {
    "slack_bot_token": "set it to the app's Bot User OAuth Token (xoxb-...) from "
    "api.slack.com/apps > OAuth & Permissions",
    "slack_signing_secret": "set it to the Signing Secret from api.slack.com/apps > "
    "Basic Information (needed by HTTP mode)",
    "slack_app_token": "set it to an app-level token (xapp-...) with connections:write "
    "for Socket Mode",
    "anthropic_api_key": "set it to an Anthropic API key for MODEL_PROVIDER=anthropic",
    "openai_base_url": "set it to the OpenAI-compatible server's URL for MODEL_PROVIDER=openai",
    "dynamodb_table": "set it to the DynamoDB table name",
}


def load_settings(**overrides: object) -> Settings:
    """Read settings, turning pydantic's report into one line per problem."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        if name == "MODEL_PROVIDER":
            raise ConfigError(
                f"MODEL_PROVIDER is not one of {', '.join(PROVIDERS)}: set it to one of them"
            ) from None
        raise ConfigError(f"{name} is invalid: {first['msg']}") from None
