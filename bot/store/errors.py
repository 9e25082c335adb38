"""Turn botocore failures into StoreUnavailable with a cause a person can act on.

The messages are our own words plus AWS's error code, never AWS's raw text or the request,
so nothing credential-shaped can reach a log line or a user.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    NoCredentialsError,
    ReadTimeoutError,
)

from bot.core.ports import StoreUnavailable

_CAUSES = {
    "ProvisionedThroughputExceededException": "throttled (provisioned throughput exceeded)",
    "ThrottlingException": "throttled",
    "RequestLimitExceeded": "throttled (account request limit exceeded)",
    "InternalServerError": "DynamoDB internal server error",
    "ServiceUnavailable": "DynamoDB is unavailable",
    "ResourceNotFoundException": "table does not exist: run `python -m bot table create`",
    "AccessDeniedException": "access denied: check the IAM policy",
    "UnrecognizedClientException": "AWS credentials were rejected",
    "ExpiredTokenException": "AWS credentials have expired",
}


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def describe_cause(error: Exception) -> str:
    if isinstance(error, ClientError):
        code = error_code(error)
        return f"{_CAUSES.get(code, 'request refused')} ({code or 'no error code'})"
    if isinstance(error, EndpointConnectionError):
        return f"cannot connect to {error.kwargs.get('endpoint_url', 'the endpoint')}"
    if isinstance(error, ConnectTimeoutError | ReadTimeoutError):
        return "timed out"
    if isinstance(error, NoCredentialsError):
        return "no AWS credentials found"
    return type(error).__name__


@contextmanager
def dynamodb_errors(table_name: str, action: str) -> Iterator[None]:
    """Raise StoreUnavailable naming the table, the action and the cause of any AWS failure."""
    try:
        yield
    except (ClientError, BotoCoreError) as error:
        raise StoreUnavailable(
            f"DynamoDB table '{table_name}': {action} failed: {describe_cause(error)}"
        ) from error
