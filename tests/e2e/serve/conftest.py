"""Bot replicas as separate processes (`python -m bot serve`), sharing one DynamoDB Local table
and the fakes, as replicas behind a load balancer share nothing but the table."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.support.bot_process import BotProcess


@pytest.fixture
def start_replicas(
    process_env: dict[str, str], tmp_path: Path
) -> Iterator[Callable[..., list[BotProcess]]]:
    """`start_replicas(n)`: n bot processes started side by side (each logs to tmp_path)."""
    started: list[BotProcess] = []

    def start(count: int, **env: str) -> list[BotProcess]:
        replicas = [BotProcess({**process_env, **env},
                               log_path=tmp_path / f"replica-{len(started) + i}.log")
                    for i in range(count)]
        started.extend(replicas)
        with ThreadPoolExecutor(max_workers=count) as pool:
            return list(pool.map(lambda replica: replica.start(), replicas))

    yield start
    for replica in started:
        replica.stop()
