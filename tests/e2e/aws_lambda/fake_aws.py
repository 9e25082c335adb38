"""Wire-level fakes of the two AWS APIs the Lambda handler calls besides DynamoDB and Bedrock:
Lambda's Invoke (the ack queues the lazy invocation with it) and Secrets Manager's
GetSecretValue.

The handler (and boto3, for the baseline the benchmark runs) reaches them through the standard
endpoint variables (AWS_ENDPOINT_URL_LAMBDA, AWS_ENDPOINT_URL_SECRETS_MANAGER). Like AWS, both
refuse a request whose Signature Version 4 does not match: the expected signature is computed
with botocore's own signer from the headers the request says it signed.
"""

from __future__ import annotations

import hmac
import json
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.fakes._http import FakeHTTPServer, QuietHandler

# tests/conftest.py sets these fake credentials for every test.
ACCESS_KEY_ID = "testing"
SECRET_ACCESS_KEY = "testing"
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/(?P<date>\d{8})/(?P<region>[^/]+)/"
    r"(?P<service>[^/]+)/aws4_request, SignedHeaders=(?P<names>[a-z0-9;-]+), "
    r"Signature=(?P<signature>[0-9a-f]{64})"
)


def signature_problem(handler: QuietHandler, body: bytes, *, service: str) -> str | None:
    """None if the request is signed for `service` with the fake credentials, else why not."""
    match = _AUTHORIZATION.fullmatch(handler.headers.get("Authorization", ""))
    if match is None:
        return "missing or malformed SigV4 Authorization header"
    if match["service"] != service or match["key"] != ACCESS_KEY_ID:
        return f"signed for {match['service']} with key {match['key']}"
    names = match["names"].split(";")
    if "host" not in names or "x-amz-date" not in names:
        return "Host and X-Amz-Date must be signed"
    request = AWSRequest(
        method=handler.command, url=f"http://{handler.headers['Host']}{handler.path}", data=body,
        headers={name: handler.headers.get(name, "") for name in names},
    )
    request.context["timestamp"] = handler.headers["X-Amz-Date"]
    signer = SigV4Auth(Credentials(ACCESS_KEY_ID, SECRET_ACCESS_KEY), service, match["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)),
                                request)
    return None if hmac.compare_digest(expected, match["signature"]) else "signature mismatch"


def _refuse_signature(handler: QuietHandler, problem: str) -> None:
    error = {"message": f"The request signature we calculated does not match ({problem})"}
    handler.send_bytes(403, json.dumps(error).encode(),
                       {"Content-Type": "application/json",
                        "x-amzn-ErrorType": "InvalidSignatureException"})


@dataclass(frozen=True)
class Invocation:
    function: str
    invocation_type: str
    payload: dict[str, Any]


class _LambdaHandler(QuietHandler):
    owner: FakeLambda  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        # POST /2015-03-31/functions/{FunctionName}/invocations
        parts = self.path.split("?", 1)[0].split("/")
        body = self.read_body()
        if len(parts) != 5 or parts[2] != "functions" or parts[4] != "invocations":
            self.send_bytes(404, b'{"Type":"User","message":"Unknown operation"}',
                            {"Content-Type": "application/json"})
            return
        problem = signature_problem(self, body, service="lambda")
        if problem is not None:
            _refuse_signature(self, problem)
            return
        if self.owner.refuse_with is not None:  # e.g. 429 TooManyRequestsException
            self.send_bytes(self.owner.refuse_with, b'{"Type":"User","message":"Rate exceeded"}',
                            {"Content-Type": "application/json",
                             "x-amzn-ErrorType": "TooManyRequestsException"})
            return
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        self.owner._record(Invocation(unquote(parts[3]), invocation_type, json.loads(body or b"{}")))
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
        # An asynchronous (Event) invocation is queued: 202 and no body.
        self.send_bytes(202 if invocation_type == "Event" else 200, b"", headers)


class FakeLambda(FakeHTTPServer):
    """Records every Invoke call; runs nothing (a test performs the invocation it wants).

    `on_invocation` is called with each one as it arrives (the benchmark starts the lazy
    invocation from it); `refuse_with` makes every Invoke fail with that HTTP status.
    """

    handler_class = _LambdaHandler

    def __init__(self, on_invocation: Callable[[Invocation], None] | None = None) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._invocations: list[Invocation] = []
        self.on_invocation = on_invocation
        self.refuse_with: int | None = None

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    def _record(self, invocation: Invocation) -> None:
        with self._lock:
            self._invocations.append(invocation)
        if self.on_invocation is not None:
            self.on_invocation(invocation)


class _SecretsHandler(QuietHandler):
    owner: FakeSecretsManager  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        target = self.headers.get("X-Amz-Target", "")
        body = self.read_body()
        problem = signature_problem(self, body, service="secretsmanager")
        if problem is not None:
            _refuse_signature(self, problem)
            return
        request = json.loads(body or b"{}")
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        secret_id = request.get("SecretId", "")
        self.owner.reads.append(secret_id)
        value = self.owner.secrets.get(secret_id)
        if target != "secretsmanager.GetSecretValue":
            error = {"__type": "UnknownOperationException", "message": target}
            self.send_bytes(400, json.dumps(error).encode(), headers)
        elif value is None:
            error = {"__type": "ResourceNotFoundException",
                     "Message": "Secrets Manager can't find the specified secret."}
            self.send_bytes(400, json.dumps(error).encode(), headers)
        else:
            answer = {"ARN": secret_id, "Name": secret_id.rsplit(":", 1)[-1], "SecretString": value,
                      "VersionId": str(uuid.uuid4()), "VersionStages": ["AWSCURRENT"],
                      "CreatedDate": 1700000000.0}
            self.send_bytes(200, json.dumps(answer).encode(), headers)


class FakeSecretsManager(FakeHTTPServer):
    """GetSecretValue for the secrets in `secrets` (secret id → SecretString); `reads` lists
    the secret id of every call."""

    handler_class = _SecretsHandler

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}
        self.reads: list[str] = []
