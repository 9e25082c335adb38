"""Whether the configured provider has what it needs to be called, checked before start-up.

The console (and `python -m bot` without Slack tokens) must work on a machine with no account
of any kind: when MODEL_PROVIDER is not set and no AWS credentials are found for the default
provider, it runs the bundled offline model instead and says so in one line. A provider chosen
explicitly is never swapped: its missing credentials are a configuration error instead.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.config import DEFAULT_BEDROCK_MODEL_ID, ConfigError, Settings
from bot.model.errors import ModelFailure, classify_model_error

# SmolLM2 runs with a 2,048-token context window (LocalLlamaChatModel.n_ctx): the history
# budget and the answer must fit in it together with the system prompt.
LOCAL_MAX_TOKENS = 256
LOCAL_CONTEXT_TOKEN_BUDGET = 1200

NO_AWS_CREDENTIALS = "no AWS credentials were found for Bedrock"
_AWS_HINT = (
    "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), "
    "or unset MODEL_PROVIDER to use the offline model"
)


def aws_credentials_problem(*, include_instance_metadata: bool) -> str | None:
    """None when boto3 finds AWS credentials; else why not.

    Without `include_instance_metadata` the EC2 instance-metadata lookup is left out: off EC2 it
    waits for a timeout, which a console on a laptop should not pay at every start.
    """
    import botocore.session

    session = botocore.session.Session()
    if not include_instance_metadata:
        session.get_component("credential_provider").remove("iam-role")
    try:
        credentials = session.get_credentials()
    except Exception as error:  # noqa: BLE001 - e.g. an expired SSO login: any failure means "none"
        return f"AWS credentials could not be loaded ({type(error).__name__})"
    return None if credentials is not None else NO_AWS_CREDENTIALS


def credentials_problem(settings: Settings, *, include_instance_metadata: bool = True) -> str | None:
    """None when `settings.model_provider` has what it needs to be called; else why not."""
    provider = settings.model_provider
    if provider == "bedrock":
        return aws_credentials_problem(include_instance_metadata=include_instance_metadata)
    if provider == "anthropic" and not settings.secret("anthropic_api_key"):
        return "ANTHROPIC_API_KEY is not set"
    if provider == "openai" and not settings.openai_base_url:
        return "OPENAI_BASE_URL is not set"
    return None


def require_credentials(settings: Settings) -> None:
    """ConfigError naming the variable to set when the provider cannot be called."""
    if settings.model_provider == "anthropic":
        settings.require("anthropic_api_key")
    elif settings.model_provider == "openai":
        settings.require("openai_base_url")
    elif settings.model_provider == "bedrock":
        problem = aws_credentials_problem(include_instance_metadata=True)
        if problem:
            raise ConfigError(f"MODEL_PROVIDER=bedrock but {problem}: {_AWS_HINT}")


def is_provider_explicit(settings: Settings) -> bool:
    """Whether MODEL_PROVIDER was set (environment, `.env` or code) rather than defaulted."""
    return "model_provider" in settings.model_fields_set


def with_local_defaults(settings: Settings) -> Settings:
    """For the offline model: answer and history sizes that fit its context window, unless
    MODEL_MAX_TOKENS or CONTEXT_TOKEN_BUDGET were set."""
    if settings.model_provider != "local":
        return settings
    changes: dict[str, object] = {}
    if "model_max_tokens" not in settings.model_fields_set:
        changes["model_max_tokens"] = LOCAL_MAX_TOKENS
    if "context_token_budget" not in settings.model_fields_set:
        changes["context_token_budget"] = LOCAL_CONTEXT_TOKEN_BUDGET
    return settings.model_copy(update=changes) if changes else settings


@dataclass(frozen=True)
class ModelChoice:
    settings: Settings
    note: str = ""  # one line to print at start-up, when the choice needs saying


def choose_console_model(settings: Settings) -> ModelChoice:
    """The settings the console runs with: the offline model when MODEL_PROVIDER is unset and
    Bedrock has no credentials; ConfigError when an explicit provider lacks its credentials."""
    if is_provider_explicit(settings):
        require_credentials(settings)
        return ModelChoice(with_local_defaults(settings))
    problem = credentials_problem(settings, include_instance_metadata=False)
    if problem is None:
        return ModelChoice(settings)
    local = with_local_defaults(
        settings.model_copy(update={"model_provider": "local", "model_id": None})
    )
    note = (
        f"Using the offline model {local.resolved_model_id} (MODEL_PROVIDER=local): {problem}; "
        "set MODEL_PROVIDER to choose a provider."
    )
    return ModelChoice(local, note)


PROBE_TIMEOUT_SECONDS = 30.0


@dataclass(frozen=True)
class ProbeResult:
    detail: str
    fix: str = ""  # empty when the model answered

    @property
    def answered(self) -> bool:
        return not self.fix


_FAILURE_DETAILS = {
    ModelFailure.ACCESS: "access denied",
    ModelFailure.NOT_FOUND: "model not found",
    ModelFailure.BUSY: "unreachable, throttled or timed out",
    ModelFailure.TOO_LONG: "the test request was refused as too long",
    ModelFailure.INVALID: "the test request was refused",
    ModelFailure.UNKNOWN: "the test request failed",
}


def probe_model(settings: Settings, *, prompt: str, max_tokens: int) -> ProbeResult:
    """Send one request of at most `max_tokens` tokens, with no retries, and say what came back."""
    from langchain_core.messages import HumanMessage

    from bot.model.factory import build_chat_model

    probe_settings = settings.model_copy(update={
        "model_max_tokens": max_tokens,
        "model_max_attempts": 1,
        "model_timeout_seconds": min(settings.model_timeout_seconds, PROBE_TIMEOUT_SECONDS),
    })
    try:
        build_chat_model(probe_settings).invoke([HumanMessage(prompt)])
    except ConfigError as error:
        return ProbeResult(str(error), "set or install what it names")
    except Exception as error:  # noqa: BLE001 - every failure is reported, none is raised
        failure = classify_model_error(error)
        return ProbeResult(
            f"{_FAILURE_DETAILS[failure]} ({type(error).__name__})", failure_fix(settings, failure)
        )
    return ProbeResult(f"answered a test request (at most {max_tokens} tokens)")


def failure_fix(settings: Settings, failure: ModelFailure) -> str:
    """What an operator does about a model failure, for the configured provider."""
    provider, model_id = settings.model_provider, settings.resolved_model_id
    if failure is ModelFailure.ACCESS:
        return {
            "bedrock": f"grant access to {model_id} in the Bedrock console (Model access) in "
            f"{settings.aws_region}, and allow bedrock:InvokeModel and "
            "bedrock:InvokeModelWithResponseStream to the bot's AWS identity",
            "anthropic": "set ANTHROPIC_API_KEY to a valid key with access to MODEL_ID",
            "openai": "set OPENAI_API_KEY to a key the server at OPENAI_BASE_URL accepts",
        }.get(provider, "check LOCAL_MODEL_PATH")
    if failure is ModelFailure.NOT_FOUND:
        return {
            "bedrock": f"set MODEL_ID to a model or inference profile available in "
            f"{settings.aws_region} (default {DEFAULT_BEDROCK_MODEL_ID})",
            "anthropic": "set MODEL_ID to an Anthropic model name, e.g. claude-sonnet-4-6",
            "openai": "set MODEL_ID to a model the server at OPENAI_BASE_URL serves",
        }.get(provider, "set LOCAL_MODEL_PATH to a GGUF model file")
    if failure is ModelFailure.BUSY:
        endpoint = {
            "bedrock": "Bedrock (or BEDROCK_ENDPOINT_URL)",
            "anthropic": "the Anthropic API (or ANTHROPIC_BASE_URL)",
            "openai": "OPENAI_BASE_URL",
        }.get(provider, "the model")
        return f"check that {endpoint} can be reached from here, then try again"
    return "run the console with LOG_LEVEL=DEBUG to see the provider's error"


def credentials_fix(settings: Settings) -> str:
    return {
        "bedrock": "set AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)",
        "anthropic": "set ANTHROPIC_API_KEY to an Anthropic API key",
        "openai": "set OPENAI_BASE_URL to the server's URL, e.g. http://localhost:11434/v1",
    }.get(settings.model_provider, "")
