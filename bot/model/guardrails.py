"""Amazon Bedrock Guardrails: every Bedrock request carries `guardrailConfig` (GUARDRAIL_ID,
GUARDRAIL_VERSION, GUARDRAIL_TRACE), streamed in `sync` mode by default, so no chunk reaches
Slack before the guardrail has checked it (GUARDRAIL_STREAM_MODE=async trades that for speed).

An intervention ends ConverseStream with `stopReason: guardrail_intervened`, after the
guardrail's own "blocked" message as the last piece of text. That piece is held back until the
next event shows whether it is the guardrail's: the answer keeps what the guardrail let through
and the core ends it with one friendly line (`AnswerBlocked`), or with the guardrail's message
when GUARDRAIL_SHOW_MESSAGE is on. Interventions are logged without any text: the policies
that acted, when GUARDRAIL_TRACE gives them.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from typing import Any

from langchain_aws import ChatBedrockConverse
from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.messages import BaseMessage
from langchain_core.outputs import ChatGenerationChunk, ChatResult

from bot.config import Settings
from bot.core.endings import AnswerBlocked

log = logging.getLogger(__name__)

INTERVENED = "guardrail_intervened"


def guardrail_config(settings: Settings) -> dict[str, str] | None:
    """The Converse `guardrailConfig` the settings ask for (ConverseStream's shape)."""
    if not settings.guardrail_id or not settings.guardrail_version:
        return None
    return {
        "guardrailIdentifier": settings.guardrail_id,
        "guardrailVersion": settings.guardrail_version,
        "trace": settings.guardrail_trace,
        "streamProcessingMode": settings.guardrail_stream_mode,
    }


class GuardedChatBedrockConverse(ChatBedrockConverse):
    """ChatBedrockConverse that turns a guardrail intervention into AnswerBlocked."""

    show_guardrail_message: bool = False

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        held: ChatGenerationChunk | None = None
        intervened = False
        trace: Mapping[str, Any] | None = None
        for chunk in super()._stream(messages, stop, run_manager, **kwargs):
            metadata = chunk.message.response_metadata
            stop_reason = metadata.get("stopReason")
            intervened = intervened or stop_reason == INTERVENED
            if isinstance(metadata.get("trace"), Mapping):
                trace = metadata["trace"]
            if chunk.text:
                if held is not None:
                    yield held
                held = chunk
                continue
            if stop_reason and not intervened and held is not None:
                yield held
                held = None
            yield chunk  # block ends, the stop reason, usage: no text
        if not intervened:
            if held is not None:
                yield held
            return
        log.warning("guardrail %s (version %s) intervened in an answer%s",
                    (self.guardrail_config or {}).get("guardrailIdentifier"),
                    (self.guardrail_config or {}).get("guardrailVersion"), _policies(trace))
        message = held.text if held is not None and self.show_guardrail_message else None
        raise AnswerBlocked(message)

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        # Converse (not streamed) takes no streamProcessingMode: `doctor`'s probe, for one.
        if self.guardrail_config and "guardrail_config" not in kwargs:
            kwargs["guardrail_config"] = {key: value for key, value in self.guardrail_config.items()
                                          if key != "streamProcessingMode"}
        return super()._generate(messages, stop, run_manager, **kwargs)


def _policies(trace: Mapping[str, Any] | None) -> str:
    """Which policies acted ("contentPolicy", "topicPolicy", ...): names only, never text."""
    guardrail = (trace or {}).get("guardrail")
    if not isinstance(guardrail, Mapping):
        return ""
    names: set[str] = set()
    assessments: list[Any] = []
    for key in ("inputAssessment", "outputAssessments"):
        value = guardrail.get(key)
        if isinstance(value, Mapping):
            assessments += [v for v in value.values() if isinstance(v, Mapping | list)]
    for assessment in assessments:
        for item in assessment if isinstance(assessment, list) else [assessment]:
            if isinstance(item, Mapping):
                names.update(name for name in item if name.endswith("Policy"))
    return f" ({', '.join(sorted(names))})" if names else ""


def find_guardrail_problem(settings: Settings) -> tuple[str, str] | None:
    """None when the configured guardrail exists and is ready (GetGuardrail), else (what is
    wrong, what to do). Needs bedrock:GetGuardrail; the bot itself needs bedrock:ApplyGuardrail."""
    import boto3
    from botocore.exceptions import BotoCoreError, ClientError

    identifier, version = settings.guardrail_id or "", settings.guardrail_version or ""
    session = boto3.session.Session(region_name=settings.aws_region)
    client = session.client("bedrock", endpoint_url=settings.bedrock_endpoint_url or None)
    what = f"guardrail {identifier} version {version} in {settings.aws_region}"
    try:
        found = client.get_guardrail(guardrailIdentifier=identifier, guardrailVersion=version)
    except ClientError as error:
        code = str(error.response.get("Error", {}).get("Code", ""))
        if code == "ResourceNotFoundException":
            return (f"{what} does not exist",
                    "set GUARDRAIL_ID and GUARDRAIL_VERSION to a guardrail of this region "
                    "(Bedrock console > Guardrails)")
        if code == "AccessDeniedException":
            return (f"{what}: not allowed to read it (AccessDeniedException)",
                    "allow bedrock:GetGuardrail (doctor) and bedrock:ApplyGuardrail (the bot) "
                    "on the guardrail")
        return f"{what}: {code or 'refused'}", "check the guardrail in the Bedrock console"
    except BotoCoreError as error:
        return f"{what}: Bedrock unreachable ({type(error).__name__})", "check the network"
    status = str(found.get("status", ""))
    if status != "READY":
        return (f"{what} is {status or 'not ready'}",
                "wait until it is READY, or pick a READY version")
    return None


def describe_guardrail(settings: Settings) -> str:
    return (f"guardrail {settings.guardrail_id} version {settings.guardrail_version}: ready; "
            f"streaming {settings.guardrail_stream_mode}, trace {settings.guardrail_trace}")
