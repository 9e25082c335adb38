"""Fixtures for the offline tier: `python -m bot …` run as a real process, stdin piped.

Each run gets a clean environment (no Slack, AWS or model variables from the machine running
the tests, no `.env`: the working directory is the test's tmp_path), plus what the test sets.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.fakes.bedrock import FakeBedrock

# Fixtures: importing them here is what makes them available to this folder's tests.
from tests.support.model_fixtures import fake_anthropic as fake_anthropic
from tests.support.model_fixtures import fake_openai as fake_openai

ROOT = Path(__file__).resolve().parents[2]
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
