"""Turn any model provider's exception into one of a few failures the bot can explain.

Works by duck typing (error codes, status codes, class names, messages) so botocore, anthropic
and openai stay optional imports: the core can classify an error without importing any SDK.
"""

from __future__ import annotations

from enum import Enum

from langchain_core.exceptions import (
    ContextOverflowError,
    ModelAuthenticationError,
    ModelError,
    ModelNotFoundError,
    ModelPermissionDeniedError,
)


class ModelFailure(Enum):
    BUSY = "busy"            # throttled, overloaded, timed out, unreachable: try again later
    ACCESS = "access"        # credentials refused or the model is not enabled for them
    NOT_FOUND = "not_found"  # the model id is unknown (in this region / on this server)
    TOO_LONG = "too_long"    # the prompt does not fit the model's context window
    INVALID = "invalid"      # the request was rejected for another reason
    UNKNOWN = "unknown"


def is_retryable(failure: ModelFailure) -> bool:
    """Whether the same request may succeed if sent again.

    botocore and the Anthropic/OpenAI SDKs retry HTTP-level errors themselves, but an error
    that arrives inside a stream after HTTP 200 (Bedrock's `throttlingException` event,
    Anthropic's `overloaded_error` event) is never retried by them: the core may retry such a
    stream once it knows no text of the answer was shown yet.
    """
    return failure is ModelFailure.BUSY


def was_retried_by_client(exc: BaseException) -> bool:
    """Whether the SDK client already spent its own retries (MODEL_MAX_ATTEMPTS) on `exc`.

    True for errors the clients retry before a response starts: botocore marks them with
    `MaxAttemptsReached`, and connection failures and timeouts are retried by every client.
    False for errors the clients never retry (Bedrock's ModelTimeoutException, 408 and 424
    answers, errors inside a stream), which only a fresh attempt by the caller can cure.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        response = getattr(current, "response", None)
        if isinstance(response, dict) and response.get("ResponseMetadata", {}).get(
            "MaxAttemptsReached"
        ):
            return True
        names = {cls.__name__ for cls in type(current).__mro__}
        if "BotoCoreError" in names and names & {"ConnectionError", "HTTPClientError"}:
            return True
        if names & {"APIConnectionError", "APITimeoutError"}:
            return True
        status = getattr(current, "status_code", None)
        if isinstance(status, int) and (status in (408, 409, 429) or status >= 500):
            return True  # anthropic and openai retry these statuses
        current = current.__cause__ or current.__context__
    return False


def classify_model_error(exc: BaseException) -> ModelFailure:
    """Name the failure behind `exc`, looking through wrapping exceptions (`raise ... from`)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        failure = _classify_one(current)
        if failure is not ModelFailure.UNKNOWN:
            return failure
        current = current.__cause__ or current.__context__
    return ModelFailure.UNKNOWN


def _classify_one(exc: BaseException) -> ModelFailure:
    for classify in (_classify_langchain, _classify_aws, _classify_sdk, _classify_builtin):
        failure = classify(exc)
        if failure is not ModelFailure.UNKNOWN:
            return failure
    return ModelFailure.UNKNOWN


# Lowercased fragments of the messages providers use when the prompt exceeds the context window:
# Bedrock "Input is too long for requested model.", Anthropic "prompt is too long: N tokens > M
# maximum", Bedrock Claude "input length and `max_tokens` exceed context limit", OpenAI
# "context_length_exceeded", vLLM "maximum context length is N tokens", llama.cpp server "the
# request exceeds the available context size", llama-cpp-python "exceed context window of N".
_TOO_LONG_MARKERS = (
    "input is too long",
    "prompt is too long",
    "too many input tokens",
    "input tokens exceed",
    "exceed context limit",
    "maximum context length",
    "context_length_exceeded",
    "context length",
    "context window",
    "context size",
)
_NOT_FOUND_MARKERS = (
    "model identifier is invalid",
    "on-demand throughput isn",  # Bedrock: this model needs an inference profile id
    "model not found",
    "does not exist",
    "not found",
)
_ACCESS_MARKERS = (
    "don't have access to the model",
    "use case details",  # Anthropic models on Bedrock need a one-time use-case form
    "not authorized",
)


def _mentions(message: str, markers: tuple[str, ...]) -> bool:
    lowered = message.lower()
    return any(marker in lowered for marker in markers)


def _classify_langchain(exc: BaseException) -> ModelFailure:
    # Provider integrations re-raise SDK errors as subclasses of these (langchain-core >= 1.7).
    if not isinstance(exc, ModelError):
        return ModelFailure.UNKNOWN
    if isinstance(exc, ContextOverflowError):
        return ModelFailure.TOO_LONG
    if isinstance(exc, ModelAuthenticationError | ModelPermissionDeniedError):
        return ModelFailure.ACCESS
    if isinstance(exc, ModelNotFoundError):
        return ModelFailure.NOT_FOUND
    if exc.is_retryable:
        return ModelFailure.BUSY
    return ModelFailure.UNKNOWN  # the SDK checks below read the status and message


_AWS_BUSY_CODES = {
    "throttlingexception",
    "toomanyrequestsexception",
    "servicequotaexceededexception",
    "serviceunavailableexception",
    "servicenotreadyexception",
    "modelnotreadyexception",
    "modeltimeoutexception",
    "modelstreamerrorexception",
    "modelerrorexception",  # 424: the model failed while processing; a retry may succeed
    "internalserverexception",
    "internalfailure",
    "requesttimeout",
    "requesttimeoutexception",
}
_AWS_ACCESS_CODES = {
    "accessdeniedexception",
    "unrecognizedclientexception",
    "invalidsignatureexception",
    "incompletesignature",
    "missingauthenticationtoken",
    "expiredtokenexception",
    "expiredtoken",
    "invalidclienttokenid",
    "signaturedoesnotmatch",
}
_AWS_CREDENTIAL_ERRORS = {
    "NoCredentialsError",
    "PartialCredentialsError",
    "CredentialRetrievalError",
    "NoAuthTokenError",
    "TokenRetrievalError",
    "UnauthorizedSSOTokenError",
    "SSOTokenLoadError",
}


def _classify_aws(exc: BaseException) -> ModelFailure:
    """botocore ClientError / EventStreamError (codes) and BotoCoreError (class names)."""
    response = getattr(exc, "response", None)
    if isinstance(response, dict) and "Error" in response:
        error = response.get("Error") or {}
        # Event-stream errors after HTTP 200 use lower camel case: "throttlingException".
        code = str(error.get("Code", "")).lower()
        message = str(error.get("Message", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return _classify_aws_code(code, message, status)
    names = {cls.__name__ for cls in type(exc).__mro__}
    if names & _AWS_CREDENTIAL_ERRORS:
        return ModelFailure.ACCESS
    # ConnectionError covers EndpointConnectionError and ConnectTimeoutError; HTTPClientError
    # covers ReadTimeoutError, ConnectionClosedError and ResponseStreamingError.
    if "BotoCoreError" in names and names & {"ConnectionError", "HTTPClientError"}:
        return ModelFailure.BUSY
    return ModelFailure.UNKNOWN


def _classify_aws_code(code: str, message: str, status: object) -> ModelFailure:
    if code in _AWS_BUSY_CODES:
        return ModelFailure.BUSY
    if code in _AWS_ACCESS_CODES or _mentions(message, _ACCESS_MARKERS):
        return ModelFailure.ACCESS
    if code == "resourcenotfoundexception" or _mentions(message, _NOT_FOUND_MARKERS):
        return ModelFailure.NOT_FOUND
    if _mentions(message, _TOO_LONG_MARKERS):
        return ModelFailure.TOO_LONG
    if code == "validationexception":
        return ModelFailure.INVALID
    return _classify_status(status if isinstance(status, int) else None)


# Error "type" / "code" values of Anthropic and OpenAI error bodies.
_SDK_BUSY_TYPES = {
    "overloaded_error", "rate_limit_error", "api_error", "timeout_error",
    "server_error", "rate_limit_exceeded",
}
_SDK_ACCESS_TYPES = {
    "authentication_error", "permission_error", "billing_error",
    "invalid_api_key", "insufficient_quota",
}
_SDK_NOT_FOUND_TYPES = {"not_found_error", "model_not_found"}


def _classify_sdk(exc: BaseException) -> ModelFailure:
    """anthropic / openai SDK errors (APIStatusError and friends), told apart by class name."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    if not names & {"APIError", "AnthropicError", "OpenAIError"}:
        return ModelFailure.UNKNOWN
    if names & {"APIConnectionError", "APITimeoutError"}:
        return ModelFailure.BUSY
    message = str(getattr(exc, "message", "") or exc)
    if _mentions(message, _TOO_LONG_MARKERS):
        return ModelFailure.TOO_LONG
    kinds = _error_kinds(exc)
    if kinds & _SDK_BUSY_TYPES:
        return ModelFailure.BUSY
    if kinds & _SDK_ACCESS_TYPES:
        return ModelFailure.ACCESS
    if kinds & _SDK_NOT_FOUND_TYPES:
        return ModelFailure.NOT_FOUND
    status = getattr(exc, "status_code", None)
    failure = _classify_status(status if isinstance(status, int) and status >= 400 else None)
    if failure is ModelFailure.UNKNOWN and "invalid_request_error" in kinds:
        return ModelFailure.INVALID
    return failure


def _error_kinds(exc: BaseException) -> set[str]:
    # A stream that fails after HTTP 200 carries the real reason only in its error event's body.
    body = getattr(exc, "body", None)
    error = body.get("error", body) if isinstance(body, dict) else None
    if not isinstance(error, dict):
        return set()
    return {str(error.get(key) or "") for key in ("type", "code")}


def _classify_status(status: int | None) -> ModelFailure:
    if status is None:
        return ModelFailure.UNKNOWN
    if status in (401, 403):
        return ModelFailure.ACCESS
    if status == 404:
        return ModelFailure.NOT_FOUND
    if status == 413:
        return ModelFailure.TOO_LONG
    if status in (408, 429) or status >= 500:
        return ModelFailure.BUSY
    if 400 <= status < 500:
        return ModelFailure.INVALID
    return ModelFailure.UNKNOWN


def _classify_builtin(exc: BaseException) -> ModelFailure:
    # langchain-aws raises ConnectionError when a ConverseStream ends without messageStop.
    if isinstance(exc, TimeoutError | ConnectionError):
        return ModelFailure.BUSY
    if isinstance(exc, ValueError) and _mentions(str(exc), _TOO_LONG_MARKERS):
        return ModelFailure.TOO_LONG  # llama-cpp-python: "Requested tokens exceed context window"
    return ModelFailure.UNKNOWN
