"""Wire-level fakes of the two AWS APIs the Lambda handler calls besides DynamoDB and Bedrock:
Lambda's Invoke (Bolt starts the lazy listener with it) and Secrets Manager's GetSecretValue.

boto3 reaches them through its standard endpoint variables (AWS_ENDPOINT_URL_LAMBDA,
AWS_ENDPOINT_URL_SECRETS_MANAGER), so the handler's own clients are used unchanged.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from tests.fakes._http import FakeHTTPServer, QuietHandler


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
        invocation_type = self.headers.get("X-Amz-Invocation-Type", "RequestResponse")
        self.owner._record(Invocation(unquote(parts[3]), invocation_type, json.loads(body or b"{}")))
        headers = {"Content-Type": "application/json", "x-amzn-RequestId": str(uuid.uuid4())}
        # An asynchronous (Event) invocation is queued: 202 and no body.
        self.send_bytes(202 if invocation_type == "Event" else 200, b"", headers)


class FakeLambda(FakeHTTPServer):
    """Records every Invoke call; runs nothing (a test performs the invocation it wants)."""

    handler_class = _LambdaHandler

    def __init__(self) -> None:
        super().__init__()
        self._lock = threading.Lock()
        self._invocations: list[Invocation] = []

    @property
    def invocations(self) -> list[Invocation]:
        with self._lock:
            return list(self._invocations)

    def _record(self, invocation: Invocation) -> None:
        with self._lock:
            self._invocations.append(invocation)


class _SecretsHandler(QuietHandler):
    owner: FakeSecretsManager  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        target = self.headers.get("X-Amz-Target", "")
        request = json.loads(self.read_body() or b"{}")
        headers = {"Content-Type": "application/x-amz-json-1.1"}
        secret_id = request.get("SecretId", "")
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
    """GetSecretValue for the secrets in `secrets` (secret id → SecretString)."""

    handler_class = _SecretsHandler

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[str, str] = {}
