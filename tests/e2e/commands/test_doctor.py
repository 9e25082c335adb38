"""`python -m bot doctor` against the fake Slack, DynamoDB Local and the fake Bedrock: one good
configuration, one broken in every part, and the individual checks."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.config import Settings
from bot.doctor import REQUIRED_SCOPES, Status, check_scopes, check_store
from tests.e2e.commands.conftest import ROOT, RunBot
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET
from tests.support.dynamodb_local import DynamoDBLocal


def rows(output: str) -> dict[str, tuple[str, str]]:
    """Check name -> (status, detail), from the report's table."""
    found = {}
    for line in output.splitlines():
        match = re.match(r"^(\S+(?: \S+)*)\s{2,}(OK|PROBLEM|SKIPPED)\s{2,}(.*)$", line)
        if match:
            found[match[1]] = (match[2], match[3])
    return found


def fixes(output: str) -> list[str]:
    return [line.strip().removeprefix("fix: ") for line in output.splitlines()
            if line.strip().startswith("fix: ")]


@pytest.fixture
def doctor_env(
    fake_slack: FakeSlack, fake_bedrock: FakeBedrock, dynamodb_local: DynamoDBLocal,
    table_name: str,
) -> dict[str, str]:
    fake_slack.scopes = (*REQUIRED_SCOPES, "reactions:write")
    return {
        **dynamodb_local.env(),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.url,
        "DYNAMODB_TABLE": table_name,
        "MODEL_PROVIDER": "bedrock",
        "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
    }


def test_a_good_configuration_passes_every_check_and_sends_no_message(
    run_bot: RunBot, doctor_env: dict[str, str], fake_slack: FakeSlack,
    fake_bedrock: FakeBedrock, table_name: str,
) -> None:
    run = run_bot([], "doctor", **doctor_env)

    assert run.returncode == 0, run.stdout + run.stderr
    assert rows(run.stdout) == {
        "Slack token": ("OK", "bot @bot (U_BOT) in workspace Test Team (T1)"),
        "Slack scopes": ("OK", "all 10 scopes the features need"),
        "Slack mode": ("OK", "HTTP mode (SLACK_SIGNING_SECRET is set)"),
        "History table": ("OK", f"DynamoDB table {table_name} in us-east-1: keys SessionId "
                                "(HASH) and MessageKey (RANGE), ACTIVE"),
        "History TTL": ("OK", "expired messages and claims are deleted (TTL on ExpiresAt)"),
        "Model": ("OK", "bedrock us.anthropic.claude-sonnet-4-6: answered a test request "
                        "(at most 5 tokens)"),
    }
    assert run.stdout.splitlines()[-1] == "No problems found."
    assert fake_slack.methods() == ["auth.test"]
    [request] = fake_bedrock.requests
    assert request.body["inferenceConfig"]["maxTokens"] == 5
    assert run.stderr == ""


def test_a_broken_configuration_names_each_problem_and_its_fix(
    run_bot: RunBot, doctor_env: dict[str, str], fake_slack: FakeSlack,
    fake_bedrock: FakeBedrock,
) -> None:
    fake_bedrock.fail_next("not_found")
    broken = {**doctor_env, "SLACK_BOT_TOKEN": "xoxb-not-the-token",
              "DYNAMODB_TABLE": "no-such-table", "MODEL_ID": "us.anthropic.claude-nonexistent"}

    run = run_bot([], "doctor", **broken)

    assert run.returncode == 1
    report = rows(run.stdout)
    assert report["Slack token"] == (
        "PROBLEM", "SLACK_BOT_TOKEN was refused by Slack (invalid_auth)")
    assert report["Slack scopes"][0] == "SKIPPED"
    assert report["History table"] == (
        "PROBLEM", "DynamoDB table 'no-such-table' does not exist in region us-east-1")
    assert report["History TTL"][0] == "SKIPPED"
    assert report["Model"] == (
        "PROBLEM", "bedrock us.anthropic.claude-nonexistent: model not found "
        "(ResourceNotFoundException)")
    assert fixes(run.stdout) == [
        "copy the Bot User OAuth Token from api.slack.com/apps > OAuth & Permissions "
        "into SLACK_BOT_TOKEN",
        "run `python -m bot table create`",
        "set MODEL_ID to a model or inference profile available in us-east-1 "
        "(default us.anthropic.claude-sonnet-4-6)",
    ]
    assert run.stdout.splitlines()[-1] == "3 problem(s) found."
    assert [c.method for c in fake_slack.calls] == ["auth.test"]
    assert "xoxb-not-the-token" not in run.stdout + run.stderr


def test_without_slack_or_aws_the_console_setup_is_checked(run_bot: RunBot) -> None:
    run = run_bot([], "doctor", "--no-model-request")

    assert run.returncode == 0, run.stdout + run.stderr
    report = rows(run.stdout)
    assert report["Slack"][0] == "SKIPPED"
    assert report["History store"][0] == "OK" and "SQLite file" in report["History store"][1]
    assert report["Model"] == (
        "SKIPPED", "local smollm2-135m-instruct: no test request sent (--no-model-request)")


def test_explicit_bedrock_without_credentials_is_a_problem(run_bot: RunBot) -> None:
    run = run_bot([], "doctor", MODEL_PROVIDER="bedrock")

    assert run.returncode == 1
    assert rows(run.stdout)["Model"] == (
        "PROBLEM", "MODEL_PROVIDER=bedrock but no AWS credentials were found for Bedrock: set "
        "AWS_PROFILE (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY), or unset MODEL_PROVIDER "
        "to use the offline model")


def test_missing_scopes_are_named_with_the_feature_that_needs_them() -> None:
    check = check_scopes("chat:write,app_mentions:read,channels:history,groups:history,"
                         "im:history,mpim:history,assistant:write,files:read")

    assert check.status is Status.PROBLEM
    assert check.detail == (
        "missing users:read (naming the people in a thread); "
        "commands (the 'Summarize this thread' shortcut)")
    assert "reinstall the app" in check.fix
    assert check_scopes(None).status is Status.SKIPPED


def test_the_scopes_checked_are_the_manifests() -> None:
    manifest = yaml.safe_load((ROOT / "manifest.yml").read_text())

    assert list(REQUIRED_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


def settings_for(dynamodb_local: DynamoDBLocal, table: str) -> Settings:
    return Settings(_env_file=None, dynamodb_table=table,
                    dynamodb_endpoint_url=dynamodb_local.endpoint_url, aws_region="us-east-1")


def test_a_table_without_ttl_is_a_problem(
    dynamodb_local: DynamoDBLocal, dynamodb_client: Any
) -> None:
    dynamodb_client.create_table(
        TableName="history-no-ttl",
        KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"},
                   {"AttributeName": "MessageKey", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"},
                              {"AttributeName": "MessageKey", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )

    table, ttl = check_store(settings_for(dynamodb_local, "history-no-ttl"))

    assert table.status is Status.OK
    assert ttl.status is Status.PROBLEM
    assert ttl.detail == ("DynamoDB table 'history-no-ttl' in region us-east-1 has TTL disabled, "
                          "so expired messages and claims are never deleted")
    assert ttl.fix == "run `python -m bot table create` (it switches TTL on for ExpiresAt)"


def test_numeric_keys_are_a_problem(dynamodb_local: DynamoDBLocal, dynamodb_client: Any) -> None:
    dynamodb_client.create_table(
        TableName="history-numeric",
        KeySchema=[{"AttributeName": "SessionId", "KeyType": "HASH"},
                   {"AttributeName": "MessageKey", "KeyType": "RANGE"}],
        AttributeDefinitions=[{"AttributeName": "SessionId", "AttributeType": "S"},
                              {"AttributeName": "MessageKey", "AttributeType": "N"}],
        BillingMode="PAY_PER_REQUEST",
    )

    table, ttl = check_store(settings_for(dynamodb_local, "history-numeric"))

    assert table.status is Status.PROBLEM and "'MessageKey': 'N'" in table.detail
    assert table.fix == "use another table name and run `python -m bot table create`"
    assert ttl.status is Status.SKIPPED


def test_the_sqlite_store_is_reported_when_no_table_is_set(tmp_path: Path) -> None:
    [check] = check_store(Settings(_env_file=None, sqlite_path=tmp_path / "new" / "h.sqlite3"))

    assert check.status is Status.OK and "created on first use" in check.detail


def test_a_token_without_files_read_is_named_with_what_it_breaks() -> None:
    granted = ",".join(scope for scope in REQUIRED_SCOPES if scope != "files:read")
    check = check_scopes(granted)
    assert check.status is Status.PROBLEM
    assert "files:read (reading the files shared in a thread)" in check.detail
