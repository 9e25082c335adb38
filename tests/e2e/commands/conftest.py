"""Fixtures for the offline tier: `python -m bot …` run as a real process, stdin piped.

Each run gets a clean environment (no Slack, AWS or model variables from the machine running
the tests, no `.env`: the working directory is the test's tmp_path), plus what the test sets.
"""

from __future__ import annotations

import contextlib
import logging
import os
import subprocess
import sys
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.cli import main
from tests.fakes.bedrock import FakeBedrock
from tests.support.dynamodb_local import FAKE_KEY_ID, FAKE_SECRET, REGION, DynamoDBLocal
from tests.support.model_fixtures import fake_anthropic as fake_anthropic
from tests.support.model_fixtures import fake_openai as fake_openai

# Fixtures: importing them here is what makes them available to this folder's tests.

ROOT = Path(__file__).resolve().parents[3]
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
RUN_TIMEOUT_SECONDS = 180


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str

    @property
    def lines(self) -> list[str]:
        """stdout's lines: answers and the output of /threads and /history."""
        return self.stdout.splitlines()


def clean_env(**env: str) -> dict[str, str]:
    """No AWS credentials, Slack tokens or model settings unless given."""
    base = {name: os.environ[name] for name in _KEPT if name in os.environ}
    return {
        **base,
        "PYTHONPATH": str(ROOT),
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
        **env,
    }


RunBot = Callable[..., Run]


@pytest.fixture
def run_bot(tmp_path: Path) -> RunBot:
    """`run_bot(lines, *args, **env)`: `python -m bot *args` (default `console`) with the lines
    piped to stdin, history in tmp_path/history.sqlite3 unless SQLITE_PATH is given."""

    def run(lines: list[str], *args: str, **env: str) -> Run:
        env.setdefault("SQLITE_PATH", str(tmp_path / "history.sqlite3"))
        done = subprocess.run(
            [sys.executable, "-m", "bot", *(args or ("console",))],
            input="".join(f"{line}\n" for line in lines),
            cwd=tmp_path, env=clean_env(**env), capture_output=True, text=True,
            timeout=RUN_TIMEOUT_SECONDS,
        )
        return Run(done.returncode, done.stdout, done.stderr)

    return run


@pytest.fixture
def bedrock_env(fake_bedrock: FakeBedrock) -> dict[str, str]:
    return {
        "MODEL_PROVIDER": "bedrock",
        "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }


# --- the history command's fixtures ---


with warnings.catch_warnings():  # "langchain-community is being sunset": it is the baseline
    warnings.simplefilter("ignore", DeprecationWarning)
    from langchain_community.chat_message_histories import DynamoDBChatMessageHistory


@pytest.fixture
def legacy_table(dynamodb_client: Any) -> Iterator[str]:
    """A table shaped as DynamoDBChatMessageHistory needs it: partition key SessionId only."""
    name = f"legacy-{uuid.uuid4().hex[:12]}"
    dynamodb_client.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb_client.get_waiter("table_exists").wait(TableName=name)
    yield name
    with contextlib.suppress(Exception):
        dynamodb_client.delete_table(TableName=name)


LegacyHistory = Callable[..., DynamoDBChatMessageHistory]


@pytest.fixture
def legacy_history(dynamodb_local: DynamoDBLocal, legacy_table: str) -> LegacyHistory:
    """The real LangChain class writing one session of `legacy_table`."""
    session = boto3.Session(
        aws_access_key_id=FAKE_KEY_ID, aws_secret_access_key=FAKE_SECRET, region_name=REGION
    )

    def make(session_id: str, **options: Any) -> DynamoDBChatMessageHistory:
        return DynamoDBChatMessageHistory(
            table_name=legacy_table, session_id=session_id,
            endpoint_url=dynamodb_local.endpoint_url, boto3_session=session, **options,
        )

    return make


@dataclass(frozen=True)
class CommandResult:
    code: int
    out: str
    err: str


RunCli = Callable[..., CommandResult]


@pytest.fixture
def dynamodb_env(dynamodb_local: DynamoDBLocal, table_name: str) -> dict[str, str]:
    """Environment that points the CLI at the test's fresh table in DynamoDB Local."""
    return {**dynamodb_local.env(), "DYNAMODB_TABLE": table_name}


@pytest.fixture
def sqlite_env(dynamodb_local: DynamoDBLocal, tmp_path: Path) -> dict[str, str]:
    """No DYNAMODB_TABLE: the SQLite store (DynamoDB Local stays reachable for legacy reads)."""
    return {**dynamodb_local.env(), "SQLITE_PATH": str(tmp_path / "history.sqlite3")}


@pytest.fixture
def run_cli(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> Iterator[RunCli]:
    """`python -m bot ARGS` in this process, with exactly the environment given."""
    monkeypatch.chdir(tmp_path)  # away from any .env file
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)

    def run(*argv: str, env: dict[str, str]) -> CommandResult:
        monkeypatch.delenv("DYNAMODB_TABLE", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        code = main(list(argv))
        captured = capsys.readouterr()
        return CommandResult(code, captured.out, captured.err)

    yield run
    root.handlers[:], root.level = saved  # main() sets up logging for a real process
