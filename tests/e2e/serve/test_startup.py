"""Start-up as an operator sees it: one clear line per configuration problem; the table command."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.support.bot_process import ROOT
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET


def run_bot(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "DYNAMODB_", "MODEL_"))}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=ROOT, env={**clean, **env},
        capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL,
    )


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (("serve",), {"SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN is not set"),
        (("serve",), {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET is not set"),
        (("socket",), {"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_APP_TOKEN is not set"),
        (("serve",), {"MODEL_PROVIDER": "gemini"}, "MODEL_PROVIDER is not one of"),
        (("serve",), {"MODEL_TEMPERATURE": "hot"}, "MODEL_TEMPERATURE is invalid"),
    ],
)
def test_configuration_errors_are_one_line_naming_the_variable(args, env, expected):
    result = run_bot(*args, **env)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], result.stderr
    assert "Traceback" not in result.stderr


def test_missing_table_is_named_with_its_region(dynamodb_local, fake_slack):
    result = run_bot(
        "serve", SLACK_BOT_TOKEN=BOT_TOKEN, SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.url, DYNAMODB_TABLE="no-such-table",
        DYNAMODB_ENDPOINT_URL=dynamodb_local.endpoint_url, AWS_REGION="eu-west-1",
    )
    assert result.returncode == 2
    assert "no-such-table" in result.stderr and "eu-west-1" in result.stderr
    assert "Traceback" not in result.stderr


def test_table_create_is_safe_to_run_twice(dynamodb_local, dynamodb_client):
    env = {"DYNAMODB_TABLE": "created-by-cli", "DYNAMODB_ENDPOINT_URL": dynamodb_local.endpoint_url}
    first, second = run_bot("table", "create", **env), run_bot("table", "create", **env)
    assert first.returncode == second.returncode == 0
    assert "created" in first.stdout and "already exists" in second.stdout
    ttl = dynamodb_client.describe_time_to_live(TableName="created-by-cli")
    assert ttl["TimeToLiveDescription"]["TimeToLiveStatus"] == "ENABLED"
    billing = dynamodb_client.describe_table(TableName="created-by-cli")["Table"]["BillingModeSummary"]
    assert billing["BillingMode"] == "PAY_PER_REQUEST"
    assert run_bot("table", "check", **env).returncode == 0

