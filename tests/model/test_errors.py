"""classify_model_error over real exception objects from botocore, the SDKs and LangChain."""

from __future__ import annotations

import anthropic
import httpx
import openai
import pytest
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    EventStreamError,
    NoCredentialsError,
    ReadTimeoutError,
)
from langchain_aws.chat_models.bedrock_converse import BedrockContextOverflowError
from langchain_core.exceptions import ContextOverflowError, ModelRateLimitError

from bot.model.errors import ModelFailure, classify_model_error, is_retryable

BUSY, ACCESS, NOT_FOUND = ModelFailure.BUSY, ModelFailure.ACCESS, ModelFailure.NOT_FOUND
TOO_LONG, INVALID, UNKNOWN = ModelFailure.TOO_LONG, ModelFailure.INVALID, ModelFailure.UNKNOWN
ENDPOINT = "https://bedrock-runtime.us-east-1.amazonaws.com/model/x/converse-stream"


def aws(code: str, message: str, status: int = 400) -> ClientError:
    response = {"Error": {"Code": code, "Message": message},
                "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "ConverseStream")  # type: ignore[arg-type]


def aws_stream(code: str, message: str) -> EventStreamError:
    """An exception event after HTTP 200: botocore raises it while the stream is read."""
    return EventStreamError({"Error": {"Code": code, "Message": message}}, "ConverseStream")


def _response(status: int, url: str) -> httpx.Response:
    return httpx.Response(status, request=httpx.Request("POST", url))


def claude(cls: type[anthropic.APIStatusError], status: int, kind: str, message: str) -> Exception:
    body = {"type": "error", "error": {"type": kind, "message": message}}
    return cls(message, response=_response(status, "https://api.anthropic.com/v1/messages"),
               body=body)


def oai(cls: type[openai.APIStatusError], status: int, code: str | None, message: str) -> Exception:
    body = {"message": message, "type": "invalid_request_error", "param": None, "code": code}
    return cls(message, response=_response(status, "http://localhost:11434/v1/chat/completions"),
               body=body)


def wrapped(error: BaseException) -> ValueError:
    try:
        raise ValueError("System tools require 'bedrock:InvokeTool' IAM permission") from error
    except ValueError as outer:
        return outer


CLAUDE_REQUEST = httpx.Request("POST", "https://api.anthropic.com/v1/messages")
OPENAI_REQUEST = httpx.Request("POST", "http://localhost:8000/v1/chat/completions")

CASES: list[tuple[str, BaseException, ModelFailure]] = [
    # Bedrock HTTP errors (REST-JSON, before the stream opens)
    ("throttling", aws("ThrottlingException", "Too many requests", 429), BUSY),
    ("quota", aws("ServiceQuotaExceededException", "Too many tokens per day", 429), BUSY),
    ("unavailable", aws("ServiceUnavailableException", "Service unavailable", 503), BUSY),
    ("internal", aws("InternalServerException", "Internal error", 500), BUSY),
    ("model not ready", aws("ModelNotReadyException", "Model is not ready", 429), BUSY),
    ("model timeout", aws("ModelTimeoutException", "Model timed out", 408), BUSY),
    ("model error", aws("ModelErrorException", "Model failed", 424), BUSY),
    ("access denied", aws("AccessDeniedException",
                          "You don't have access to the model with the specified model ID.", 403),
     ACCESS),
    ("bad token", aws("UnrecognizedClientException",
                      "The security token included in the request is invalid.", 403), ACCESS),
    ("expired token", aws("ExpiredTokenException", "The security token has expired", 403), ACCESS),
    ("use case form", aws("ResourceNotFoundException", "Model use case details have not been "
                          "submitted for this account.", 404), ACCESS),
    ("unknown model", aws("ValidationException", "The provided model identifier is invalid."),
     NOT_FOUND),
    ("model not found", aws("ResourceNotFoundException", "Model not found", 404), NOT_FOUND),
    ("needs profile", aws("ValidationException", "Invocation of model ID anthropic.claude-x with "
                          "on-demand throughput isn\u2019t supported. Retry with an inference "
                          "profile."), NOT_FOUND),
    ("input too long", aws("ValidationException", "Input is too long for requested model."),
     TOO_LONG),
    ("context limit", aws("ValidationException", "input length and `max_tokens` exceed context "
                          "limit: 199000 + 4096 > 200000, decrease input length"), TOO_LONG),
    ("alternation", aws("ValidationException", "A conversation must alternate between user and "
                        "assistant roles."), INVALID),
    ("unknown code", aws("SomethingNewException", "?", 418), INVALID),
    # Bedrock event-stream errors after HTTP 200: botocore never retries these
    ("stream throttling", aws_stream("throttlingException", "Too many requests"), BUSY),
    ("stream model error", aws_stream("modelStreamErrorException", "Model stream error"), BUSY),
    ("stream internal", aws_stream("internalServerException", "Internal error"), BUSY),
    ("stream unavailable", aws_stream("serviceUnavailableException", "Unavailable"), BUSY),
    ("stream too long", aws_stream("validationException", "Input is too long for requested model."),
     TOO_LONG),
    # botocore transport errors
    ("read timeout", ReadTimeoutError(endpoint_url=ENDPOINT), BUSY),
    ("connect timeout", ConnectTimeoutError(endpoint_url=ENDPOINT), BUSY),
    ("no endpoint", EndpointConnectionError(endpoint_url=ENDPOINT), BUSY),
    ("closed", ConnectionClosedError(endpoint_url=ENDPOINT), BUSY),
    ("no credentials", NoCredentialsError(), ACCESS),
    # Anthropic SDK
    ("claude 429", claude(anthropic.RateLimitError, 429, "rate_limit_error", "Rate limited"), BUSY),
    ("claude 529", claude(anthropic.InternalServerError, 529, "overloaded_error", "Overloaded"),
     BUSY),
    ("claude event", claude(anthropic.APIStatusError, 200, "overloaded_error", "Overloaded"), BUSY),
    ("claude 401", claude(anthropic.AuthenticationError, 401, "authentication_error", "bad key"),
     ACCESS),
    ("claude 403", claude(anthropic.PermissionDeniedError, 403, "permission_error", "no"), ACCESS),
    ("claude 404", claude(anthropic.NotFoundError, 404, "not_found_error", "model: x"), NOT_FOUND),
    ("claude too long", claude(anthropic.BadRequestError, 400, "invalid_request_error",
                               "prompt is too long: 210000 tokens > 200000 maximum"), TOO_LONG),
    ("claude invalid", claude(anthropic.BadRequestError, 400, "invalid_request_error",
                              "messages: roles must alternate"), INVALID),
    ("claude timeout", anthropic.APITimeoutError(request=CLAUDE_REQUEST), BUSY),
    ("claude offline", anthropic.APIConnectionError(request=CLAUDE_REQUEST), BUSY),
    # OpenAI SDK (OpenAI itself, Ollama, vLLM, llama.cpp server)
    ("openai 429", oai(openai.RateLimitError, 429, "rate_limit_exceeded", "Rate limit"), BUSY),
    ("openai 503", oai(openai.InternalServerError, 503, None, "Overloaded"), BUSY),
    ("openai stream", openai.APIError("Server error", OPENAI_REQUEST,
                                      body={"message": "boom", "type": "server_error"}), BUSY),
    ("openai 401", oai(openai.AuthenticationError, 401, "invalid_api_key", "Bad key"), ACCESS),
    ("ollama 404", oai(openai.NotFoundError, 404, None, "model \"llama9\" not found"), NOT_FOUND),
    ("openai too long", oai(openai.BadRequestError, 400, "context_length_exceeded",
                            "This model's maximum context length is 8192 tokens."), TOO_LONG),
    ("llama.cpp too long", oai(openai.BadRequestError, 400, None, "the request exceeds the "
                               "available context size, try increasing it"), TOO_LONG),
    ("openai invalid", oai(openai.BadRequestError, 400, None, "Invalid 'messages'"), INVALID),
    ("openai timeout", openai.APITimeoutError(request=OPENAI_REQUEST), BUSY),
    ("openai offline", openai.APIConnectionError(request=OPENAI_REQUEST), BUSY),
    # LangChain's own classes, builtins, wrapping
    ("langchain overflow", ContextOverflowError("too long"), TOO_LONG),
    ("langchain-aws overflow", BedrockContextOverflowError(
        {"Error": {"Code": "ValidationException", "Message": "prompt is too long"}}, "Converse"
    ), TOO_LONG),
    ("langchain rate limit", ModelRateLimitError("slow down"), BUSY),
    ("stream cut short", ConnectionError("Incomplete Bedrock response stream"), BUSY),
    ("socket timeout", TimeoutError("timed out"), BUSY),
    ("llama context", ValueError("Requested tokens (3000) exceed context window of 2048"),
     TOO_LONG),
    ("wrapped access denied", wrapped(aws("AccessDeniedException", "not allowed", 403)), ACCESS),
    ("anything else", RuntimeError("boom"), UNKNOWN),
]


@pytest.mark.parametrize(
    ("error", "failure"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_classify_model_error(error: BaseException, failure: ModelFailure) -> None:
    assert classify_model_error(error) is failure


@pytest.mark.parametrize("failure", list(ModelFailure))
def test_only_busy_failures_are_retryable(failure: ModelFailure) -> None:
    assert is_retryable(failure) is (failure is BUSY)

