"""The two AWS calls a cold ack makes (GetSecretValue, an asynchronous Invoke), signed with
Signature Version 4 by hand over http.client.

Why not boto3 here: measured on the bench machine, importing boto3 takes 0.32-0.43 s and
building a Lambda and a Secrets Manager client another 0.33-0.36 s, against 0.05 s for the
standard-library modules below plus 0.05 s for a TLS context: boto3 alone would be more than
the whole cold ack. The lazy invocation still uses boto3 for DynamoDB and Bedrock.
tests/e2e/aws_lambda checks these signatures against botocore's signer.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from http.client import HTTPConnection, HTTPSConnection
from urllib.parse import quote, urlsplit

from bot.lambda_env import AwsCredentials, LambdaEnvironment, aws_credentials

log = logging.getLogger(__name__)

# Slack waits 3 s for the ack: two tries of a second each leave room for the cold start.
ATTEMPT_TIMEOUT_SECONDS = 1.0
ATTEMPTS = 2
RETRY_PAUSE_SECONDS = 0.05
ALGORITHM = "AWS4-HMAC-SHA256"


class AwsCallFailed(Exception):
    """An AWS call that did not succeed after its attempts; the message names the call."""


def sigv4_headers(
    *, method: str, url: str, body: bytes, headers: Mapping[str, str], service: str,
    region: str, credentials: AwsCredentials, now: datetime,
) -> dict[str, str]:
    """`headers` plus Host, X-Amz-Date, X-Amz-Security-Token and Authorization.

    The canonical URI is the request path URI-encoded once more (every service but S3), and
    every header passed in is signed. `url` carries no query string (neither call has one).
    """
    parts = urlsplit(url)
    amz_date = now.strftime("%Y%m%dT%H%M%SZ")
    signed = {name.lower(): " ".join(value.split()) for name, value in headers.items()}
    signed |= {"host": parts.netloc, "x-amz-date": amz_date}
    if credentials.session_token:
        signed["x-amz-security-token"] = credentials.session_token
    names = sorted(signed)
    canonical_request = "\n".join([
        method, quote(parts.path or "/", safe="/~"), "",
        *(f"{name}:{signed[name]}" for name in names), "",
        ";".join(names), hashlib.sha256(body).hexdigest(),
    ])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, scope, hashlib.sha256(canonical_request.encode()).hexdigest()]
    )
    key = ("AWS4" + credentials.secret_access_key).encode()
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode(), hashlib.sha256).digest()
    signature = hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()
    signed["authorization"] = (
        f"{ALGORITHM} Credential={credentials.access_key_id}/{scope}, "
        f"SignedHeaders={';'.join(names)}, Signature={signature}"
    )
    return signed


class LightAwsClient:
    """Lambda Invoke (asynchronous) and Secrets Manager GetSecretValue, nothing else."""

    def __init__(
        self, environment: LambdaEnvironment, *,
        credentials: Callable[[], AwsCredentials] = aws_credentials,
    ) -> None:
        self.environment = environment
        self.credentials = credentials

    def invoke_async(self, function_arn: str, payload: bytes) -> None:
        """Queue an `Event` invocation; Lambda answers 202 once it holds the event."""
        path = f"/2015-03-31/functions/{quote(function_arn, safe='')}/invocations"
        self._call("lambda", "Invoke", path, payload, {"X-Amz-Invocation-Type": "Event"},
                   expect=202)

    def get_secret_string(self, secret_id: str) -> str:
        body = json.dumps({"SecretId": secret_id}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": "secretsmanager.GetSecretValue"}
        answer = self._call("secretsmanager", "GetSecretValue", "/", body, headers, expect=200)
        value = json.loads(answer).get("SecretString")
        if not isinstance(value, str):
            raise AwsCallFailed(f"GetSecretValue {secret_id}: the secret holds no SecretString")
        return value

    def _call(
        self, service: str, operation: str, path: str, body: bytes, headers: dict[str, str],
        *, expect: int,
    ) -> bytes:
        url = self.environment.endpoint(service) + path
        problem = ""
        for attempt in range(1, ATTEMPTS + 1):
            signed = sigv4_headers(
                method="POST", url=url, body=body, headers=headers, service=service,
                region=self.environment.region, credentials=self.credentials(),
                now=datetime.now(UTC),
            )
            try:
                status, answer, error_type = _post(url, body, signed)
            except OSError as error:  # refused, reset, timed out
                problem = f"{type(error).__name__}: {error}"
            else:
                if status == expect:
                    return answer
                problem = f"HTTP {status} {error_type or answer[:200]!r}"
                if status != 429 and status < 500:
                    break  # refused (permissions, a missing function): trying again changes nothing
            if attempt < ATTEMPTS:
                log.warning("%s %s failed (%s); trying again", service, operation, problem)
                time.sleep(RETRY_PAUSE_SECONDS)
        raise AwsCallFailed(f"{service} {operation} failed: {problem}")


def _post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, str]:
    parts = urlsplit(url)
    connection_class = HTTPSConnection if parts.scheme == "https" else HTTPConnection
    connection = connection_class(parts.netloc, timeout=ATTEMPT_TIMEOUT_SECONDS)
    try:
        connection.request("POST", parts.path or "/", body=body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(), response.getheader("x-amzn-ErrorType", "")
    finally:
        connection.close()
