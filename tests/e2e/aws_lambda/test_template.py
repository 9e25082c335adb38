"""deploy/template.yaml: valid for CloudFormation (cfn-lint, with SAM's schemas), as narrow as
the bot allows (one table's items, one model, its own secret, its own alias; which actions is
derived from the code in test_iam.py), and an asynchronous invocation that cannot vanish."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import ManualArgs, lint_file
from cfnlint.decode import decode

from bot.config import Settings
from bot.lambda_env import LAMBDA_ONLY_VARIABLES

TEMPLATE = Path(__file__).resolve().parents[3] / "deploy" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    decoded, problems = decode(str(TEMPLATE))
    assert not problems
    return decoded


@pytest.fixture(scope="module")
def statements(template) -> dict[str, dict[str, Any]]:
    policy = template["Resources"]["BotFunction"]["Properties"]["Policies"][0]
    return {statement["Sid"]: statement for statement in policy["Statement"]}


def lint(path: Path) -> list[str]:
    """cfn-lint's errors and warnings (it applies the SAM transform first)."""
    config = ManualArgs(regions=["us-east-1", "us-west-2", "eu-central-1"])
    return [str(match) for match in lint_file(path, config=config)]


def test_cfn_lint_passes():
    assert lint(TEMPLATE) == []


def test_cfn_lint_would_catch_a_broken_template(tmp_path):
    broken = tmp_path / "template.yaml"
    broken.write_text(TEMPLATE.read_text().replace("BillingMode: PAY_PER_REQUEST",
                                                   "BillingMode: PAY_WHEN_ASKED"))
    assert any("PAY_WHEN_ASKED" in problem for problem in lint(broken))


def test_the_table_has_the_bots_keys_on_demand_billing_and_ttl(template):
    table = template["Resources"]["HistoryTable"]["Properties"]
    assert {k["AttributeName"]: k["KeyType"] for k in table["KeySchema"]} == {
        "SessionId": "HASH", "MessageKey": "RANGE"}
    assert table["BillingMode"] == "PAY_PER_REQUEST"
    assert table["TimeToLiveSpecification"] == {"AttributeName": "ExpiresAt", "Enabled": True}


def test_every_grant_names_its_resources_and_no_wildcard_actions(statements):
    assert set(statements) == {"HistoryItems", "InvokeConfiguredModel", "ReadSlackCredentials",
                               "StartLazyListener"}
    for statement in statements.values():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert all("*" not in action for action in actions)
        assert statement["Resource"] != "*"
    assert statements["HistoryItems"]["Resource"] == {"Fn::GetAtt": ["HistoryTable", "Arn"]}
    models = [resource["Fn::Sub"] for resource in statements["InvokeConfiguredModel"]["Resource"]]
    assert models == [
        "arn:${AWS::Partition}:bedrock:${AWS::Region}:${AWS::AccountId}:inference-profile/${ModelId}",
        "arn:${AWS::Partition}:bedrock:*::foundation-model/${FoundationModelId}",
    ]
    assert statements["ReadSlackCredentials"]["Resource"] == {"Ref": "SlackSecretArn"}
    assert statements["StartLazyListener"]["Action"] == "lambda:InvokeFunction"
    # Only the alias the function URL is on: the ack queues the lazy invocation through it.
    assert statements["StartLazyListener"]["Resource"]["Fn::Sub"].endswith(
        ":function:${AWS::StackName}-bot:live")


def test_the_lazy_invocation_is_never_retried_blindly_and_never_lost(template):
    function = template["Resources"]["BotFunction"]["Properties"]
    assert function["AutoPublishAlias"] == "live"  # SAM puts the URL and the config below on it
    config = function["EventInvokeConfig"]
    assert config["MaximumRetryAttempts"] == 0
    assert config["MaximumEventAgeInSeconds"] == {"Ref": "MaxEventAgeSeconds"}
    max_age = template["Parameters"]["MaxEventAgeSeconds"]
    assert max_age["Default"] < 300 and max_age["MaxValue"] < 300  # Slack's signature window
    # The handler refuses the same age itself (bot/lambda_lazy.py).
    assert function["Environment"]["Variables"]["LAMBDA_MAX_EVENT_AGE_SECONDS"] == {
        "Ref": "MaxEventAgeSeconds"}
    assert config["DestinationConfig"]["OnFailure"]["Destination"] == {
        "Fn::GetAtt": ["FailedInvocations", "Arn"]}
    queue = template["Resources"]["FailedInvocations"]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True  # the messages hold Slack text


def test_concurrency_is_capped_by_default_and_snapstart_is_offered(template):
    parameters = template["Parameters"]
    assert parameters["ReservedConcurrency"]["Default"] > 0  # the function URL is public
    assert parameters["SnapStart"]["AllowedValues"] == ["None", "PublishedVersions"]
    function = template["Resources"]["BotFunction"]["Properties"]
    assert function["SnapStart"] == {"ApplyOn": {"Ref": "SnapStart"}}
    assert function["Runtime"] in ("python3.12", "python3.13")  # SnapStart for Python: 3.12+


def test_the_function_runs_the_handler_with_settings_the_bot_knows(template):
    function = template["Resources"]["BotFunction"]["Properties"]
    module, name = function["Handler"].rsplit(".", 1)
    assert callable(getattr(importlib.import_module(module), name))
    assert function["Runtime"] in ("python3.12", "python3.13")
    assert function["FunctionName"] == {"Fn::Sub": "${AWS::StackName}-bot"}
    assert function["FunctionUrlConfig"]["AuthType"] == "NONE"  # Bolt checks Slack's signature
    for variable in function["Environment"]["Variables"]:
        assert variable.lower() in Settings.model_fields or variable in LAMBDA_ONLY_VARIABLES, variable
