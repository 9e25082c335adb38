"""The Lambda handler wired to the fakes: Slack, Bedrock, DynamoDB Local, plus fake Lambda and
Secrets Manager endpoints that boto3 reaches through AWS_ENDPOINT_URL_<SERVICE>."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from bot import lambda_handler, lambda_lazy
from tests.e2e.aws_lambda.fake_aws import FakeLambda, FakeSecretsManager
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET
from tests.support.dynamodb_local import DynamoDBLocal

SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:claude-slack-bot/slack-AbCdEf"


@pytest.fixture
def fake_lambda() -> Iterator[FakeLambda]:
    fake = FakeLambda().start()
    yield fake
    fake.stop()


@pytest.fixture
def fake_secrets() -> Iterator[FakeSecretsManager]:
    fake = FakeSecretsManager().start()
    fake.secrets[SECRET_ID] = json.dumps(
        {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET}
    )
    yield fake
    fake.stop()


@pytest.fixture
def lambda_environment(
    monkeypatch: pytest.MonkeyPatch, fake_slack: FakeSlack, fake_bedrock: FakeBedrock,
    dynamodb_local: DynamoDBLocal, table_name: str, fake_lambda: FakeLambda,
    fake_secrets: FakeSecretsManager,
) -> Iterator[None]:
    """The environment deploy/template.yaml gives the function, pointed at the fakes.

    The Slack credentials are only in the (fake) Secrets Manager, as in the deployment.
    """
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN",
                 "AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    environment = {
        "SLACK_SECRET_ID": SECRET_ID,
        "SLACK_API_URL": fake_slack.url,
        "DYNAMODB_TABLE": table_name,
        "DYNAMODB_ENDPOINT_URL": dynamodb_local.endpoint_url,
        "AWS_REGION": "us-east-1",
        "MODEL_PROVIDER": "bedrock",
        "BEDROCK_ENDPOINT_URL": fake_bedrock.url,
        "SYSTEM_PROMPT": "You are a test bot.",
        "UPDATE_INTERVAL_SECONDS": "0.05",
        "LAMBDA_MAX_EVENT_AGE_SECONDS": "240",
        "AWS_ENDPOINT_URL_LAMBDA": fake_lambda.base_url,
        "AWS_ENDPOINT_URL_SECRETS_MANAGER": fake_secrets.base_url,
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    forget_container()  # a cold start for every test
    yield
    forget_container()


def forget_container() -> None:
    """What Lambda keeps between invocations of one container: the Slack credentials and the app."""
    lambda_handler.slack_credentials.cache_clear()
    lambda_lazy.ready_app.cache_clear()
