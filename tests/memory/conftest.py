"""Memory test fixtures: a table in the old LangChain layout, and the CLI run in-process.

DynamoDB Local (`dynamodb_local`, `dynamodb_client`, `table_name`) comes from tests/conftest.py.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import pytest

from bot.cli import main
from tests.support.dynamodb_local import FAKE_KEY_ID, FAKE_SECRET, REGION, DynamoDBLocal

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
