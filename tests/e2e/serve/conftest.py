"""Bot replicas as separate processes (`python -m bot serve`), sharing one DynamoDB Local table
and the fakes, as replicas behind a load balancer share nothing but the table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.fakes.bedrock import FakeBedrock
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_process import BotProcess
from tests.support.dynamodb_local import DynamoDBLocal


@pytest.fixture
def replica_env(
    fake_slack: FakeSlack, fake_bedrock: FakeBedrock, dynamodb_local: DynamoDBLocal, table_name: str
) -> dict[str, str]:
    return {
        **dynamodb_local.env(),
        "SLACK_API_URL": fake_slack.url,
        "DYNAMODB_TABLE": table_name,
        "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
        "MODEL_PROVIDER": "bedrock",
        "SYSTEM_PROMPT": "You are a test bot.",
        "UPDATE_INTERVAL_SECONDS": "0.05",
    }


@pytest.fixture
def start_replicas(
    replica_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., list[BotProcess]]]:
    """`start_replicas(n)`: n bot processes started side by side (each logs to tmp_path)."""
    started: list[BotProcess] = []

    def start(count: int, **env: str) -> list[BotProcess]:
        replicas = [BotProcess({**replica_env, **env},
                               log_path=tmp_path / f"replica-{len(started) + i}.log")
                    for i in range(count)]
        started.extend(replicas)
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(lambda replica: replica.start(), replicas))

    yield start
    for replica in started:
        replica.stop()
