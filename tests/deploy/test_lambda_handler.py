"""The Lambda handler, invoked as Lambda invokes it: a function-URL (or API Gateway) event with
Slack's signature; the ack returns at once and the answer is written by the second, lazy
invocation that Bolt asks Lambda for (captured by a fake Lambda endpoint, then run)."""

from __future__ import annotations

import json

import pytest

from bot import lambda_handler
from bot.config import ConfigError
from tests.deploy.conftest import SECRET_ID
from tests.deploy.lambda_events import (
    FUNCTION_ARN,
    LambdaContext,
    api_gateway_event,
    function_url_event,
)
from tests.fakes.signing import app_mention, event_callback

pytestmark = pytest.mark.usefixtures("lambda_environment")

CHANNEL = "C0LAMBDA"


def mention(ts: str, text: str, *, event_id: str | None = None) -> dict:
    event = app_mention(channel=CHANNEL, user="U_ANA", text=f"<@U_BOT> {text}", ts=ts)
    return event_callback(event, event_id=event_id)


def test_the_first_invocation_acks_and_the_lazy_invocation_answers(
    fake_lambda, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    fake_bedrock.reply = "Hello from Lambda."
    context = LambdaContext()
    response = lambda_handler.handler(function_url_event(mention("1700000001.000100", "hi")), context)

    assert response["statusCode"] == 200
    (invocation,) = fake_lambda.invocations
    assert (invocation.function, invocation.invocation_type) == (FUNCTION_ARN, "Event")
    assert invocation.payload["headers"]["x-slack-bolt-lazy-only"] == "1"
    assert fake_bedrock.requests == []  # nothing of the answer happened before the ack
    assert fake_slack.calls_to("chat.startStream") == []

    lazy = lambda_handler.handler(invocation.payload, LambdaContext())

    assert lazy["statusCode"] == 200
    assert fake_slack.thread_texts(CHANNEL, "1700000001.000100") == ["Hello from Lambda."]
    assert "hi" in fake_bedrock.all_text_sent(fake_bedrock.last_request)
    stored = dynamodb_client.query(
        TableName=table_name, KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues={":s": {"S": f"T1:{CHANNEL}:1700000001.000100"}},
    )["Items"]
    assert [item["Role"]["S"] for item in stored] == ["human", "ai"]
    assert len(fake_lambda.invocations) == 1  # the lazy invocation starts nothing further


def test_api_gateway_events_with_base64_bodies_work_the_same(fake_lambda, fake_slack):
    event = api_gateway_event(mention("1700000002.000100", "via API Gateway"), base64_body=True)
    assert lambda_handler.handler(event, LambdaContext())["statusCode"] == 200
    (invocation,) = fake_lambda.invocations
    lambda_handler.handler(invocation.payload, LambdaContext())
    assert fake_slack.thread_texts(CHANNEL, "1700000002.000100") == ["Answer to: via API Gateway"]


def test_a_forged_request_is_refused_without_starting_any_work(fake_lambda, fake_bedrock):
    event = function_url_event(mention("1700000003.000100", "hi"), signature="v0=forged")
    assert lambda_handler.handler(event, LambdaContext())["statusCode"] == 401
    assert fake_lambda.invocations == []
    assert fake_bedrock.requests == []


def test_slack_retrying_a_slow_cold_start_still_gets_one_answer(fake_lambda, fake_slack, fake_bedrock):
    payload = mention("1700000004.000100", "hello", event_id="Ev0RETRIED")
    lambda_handler.handler(function_url_event(payload), LambdaContext())
    # The first ack took over 3 s (a cold start), so Slack delivered the event again.
    lambda_handler.handler(function_url_event(payload, retry_num=1), LambdaContext())
    first, retry = fake_lambda.invocations
    for invocation in (first, retry):  # Lambda may even run both lazy invocations
        lambda_handler.handler(invocation.payload, LambdaContext())
    assert fake_slack.thread_texts(CHANNEL, "1700000004.000100") == ["Answer to: hello"]
    assert len(fake_bedrock.requests) == 1


def test_the_app_is_built_once_per_container(fake_slack):
    lambda_handler.handler(function_url_event(mention("1700000005.000100", "one")), LambdaContext())
    lambda_handler.handler(function_url_event(mention("1700000006.000100", "two")), LambdaContext())
    assert len(fake_slack.calls_to("auth.test")) == 1  # run once, at the cold start


def test_the_slack_secret_must_hold_both_credentials(fake_secrets):
    fake_secrets.secrets[SECRET_ID] = json.dumps({"SLACK_BOT_TOKEN": "xoxb-only"})
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        lambda_handler.load_lambda_settings()
