"""Shared fixtures: DynamoDB Local, the fake Slack Web API, the fake Bedrock, the real bot."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

# Tests never reach AWS: fixed fake credentials, no profile files.
os.environ.update(
    AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
    AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null",
)
os.environ.pop("AWS_PROFILE", None)

from bot.config import Settings  # noqa: E402
from bot.store.table import create_table  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, BotServer  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402


@pytest.fixture(scope="session")
def dynamodb_local() -> Iterator[DynamoDBLocal]:
    server = DynamoDBLocal().start()
    yield server
    server.stop()


@pytest.fixture
def dynamodb_client(dynamodb_local: DynamoDBLocal) -> Any:
    dynamodb_local.start()  # a previous outage test may have left it stopped
    return dynamodb_local.client()


@pytest.fixture
def table_name(dynamodb_client: Any) -> str:
    name = f"bot-{uuid.uuid4().hex[:12]}"
    create_table(dynamodb_client, name)
    return name


@pytest.fixture
def fake_slack() -> Iterator[FakeSlack]:
    fake = FakeSlack(bot_token=BOT_TOKEN).start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_bedrock() -> Iterator[FakeBedrock]:
    fake = FakeBedrock().start()
    yield fake
    fake.stop()


@pytest.fixture
def bot_settings(
    fake_slack: FakeSlack, fake_bedrock: FakeBedrock, dynamodb_local: DynamoDBLocal, table_name: str
) -> Callable[..., Settings]:
    """Settings for a bot wired to the fakes and a fresh DynamoDB table; override any field."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = dict(
            slack_bot_token=BOT_TOKEN,
            slack_signing_secret=SIGNING_SECRET,
            slack_api_url=fake_slack.url,
            dynamodb_table=table_name,
            dynamodb_endpoint_url=dynamodb_local.endpoint_url,
            aws_region="us-east-1",
            bedrock_endpoint_url=fake_bedrock.url,
            model_provider="bedrock",
            system_prompt="You are a test bot.",
            update_interval_seconds=0.05,
            # Off, so the suites' Slack call sequences stay those of a turn; tests/e2e/channels/
            # test_stop.py turns agent sessions on.
            agent_sessions=False,
        )
        values.update(overrides)
        return Settings(_env_file=None, **values)

    return make


@pytest.fixture
def start_bot(bot_settings: Callable[..., Settings]) -> Iterator[Callable[..., BotServer]]:
    started: list[BotServer] = []

    def start(**overrides: Any) -> BotServer:
        server = BotServer(bot_settings(**overrides)).start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotServer]) -> BotServer:
    return start_bot()
