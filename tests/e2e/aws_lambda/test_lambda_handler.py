"""The Lambda handler, invoked as Lambda invokes it: a function-URL (or API Gateway) event with
Slack's signature is acked at once and queued, through a fake Lambda endpoint, as a second,
asynchronous invocation of the same function; the test then runs that invocation, which writes
the answer with the real Bolt app, the fake Slack and Bedrock and DynamoDB Local."""

from __future__ import annotations

import base64
import json
import logging
import time

import pytest

from bot import lambda_handler
from bot.lambda_ack import LAZY_EVENT_KEY
from bot.lambda_env import LambdaConfigError
from bot.lambda_lazy import LazyInvocationRefused
from bot.slack.listeners.shortcuts import SUMMARIZE_CALLBACK_ID
from tests.e2e.aws_lambda.conftest import SECRET_ID
from tests.e2e.aws_lambda.lambda_events import (
    FUNCTION_ARN,
    LambdaContext,
    api_gateway_event,
    function_url_event,
)
from tests.fakes.signing import (
    app_mention,
    block_action,
    event_callback,
    message_shortcut,
    url_verification,
)

pytestmark = pytest.mark.usefixtures("lambda_environment")

CHANNEL = "C0LAMBDA"


def mention(ts: str, text: str, *, event_id: str | None = None) -> dict:
    event = app_mention(channel=CHANNEL, user="U_ANA", text=f"<@U_BOT> {text}", ts=ts)
    return event_callback(event, event_id=event_id)


def ack(event: dict) -> dict:
    return lambda_handler.handler(event, LambdaContext())


def run_lazy(payload: dict) -> dict:
    return lambda_handler.handler(payload, LambdaContext())


def test_the_first_invocation_acks_and_the_lazy_invocation_answers(
    fake_lambda, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    fake_bedrock.reply = "Hello from Lambda."
    event = function_url_event(mention("1700000001.000100", "hi"))
    response = ack(event)

    assert (response["statusCode"], response["body"]) == (200, "")
    (invocation,) = fake_lambda.invocations
    # Through the alias the function URL is on, queued (Event), the request as Slack sent it.
    assert (invocation.function, invocation.invocation_type) == (FUNCTION_ARN, "Event")
    handed_on = invocation.payload[LAZY_EVENT_KEY]
    assert handed_on["body"] == event["body"]
    assert handed_on["headers"]["x-slack-signature"] == event["headers"]["x-slack-signature"]
    assert fake_bedrock.requests == []  # nothing of the answer happened before the ack
    assert fake_slack.calls == []  # not even auth.test: the ack has no Bolt app

    lazy = run_lazy(invocation.payload)

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
    assert ack(event)["statusCode"] == 200
    (invocation,) = fake_lambda.invocations
    run_lazy(invocation.payload)
    assert fake_slack.thread_texts(CHANNEL, "1700000002.000100") == ["Answer to: via API Gateway"]


def test_a_forged_request_is_refused_without_starting_any_work(fake_lambda, fake_bedrock):
    event = function_url_event(mention("1700000003.000100", "hi"), signature="v0=forged")
    assert ack(event)["statusCode"] == 401
    assert fake_lambda.invocations == []
    assert fake_bedrock.requests == []


def test_a_request_through_the_url_claiming_to_be_lazy_is_checked_like_any_other(fake_lambda):
    bolt_lazy = {"x-slack-bolt-lazy-only": "1", "x-slack-bolt-lazy-function-name": "answer_mention"}
    stale = function_url_event(mention("1700000003.000200", "replayed"),
                               timestamp=int(time.time()) - 600,
                               extra_headers=bolt_lazy)
    assert ack(stale)["statusCode"] == 401
    # Bolt's own lazy-invocation shape, sent to the URL: still just an HTTP request.
    bolt_style = stale | {"method": "NONE"}
    assert ack(bolt_style)["statusCode"] == 401
    assert fake_lambda.invocations == []

    fresh = function_url_event(mention("1700000003.000300", "hi"), extra_headers=bolt_lazy)
    assert ack(fresh)["statusCode"] == 200
    (invocation,) = fake_lambda.invocations
    assert not any(name.startswith("x-slack-bolt-")
                   for name in invocation.payload[LAZY_EVENT_KEY]["headers"])


def test_url_verification_and_ssl_check_are_answered_by_the_ack_alone(fake_lambda):
    response = ack(function_url_event(url_verification("the-challenge")))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"challenge": "the-challenge"}

    ssl_check = function_url_event({}, signature="") | {"body": "ssl_check=1&token=legacy"}
    ssl_check["headers"]["content-type"] = "application/x-www-form-urlencoded"
    assert ack(ssl_check)["statusCode"] == 200
    assert fake_lambda.invocations == []


def test_slack_retrying_a_slow_cold_start_still_gets_one_answer(fake_lambda, fake_slack, fake_bedrock):
    payload = mention("1700000004.000100", "hello", event_id="Ev0RETRIED")
    ack(function_url_event(payload))
    # The first ack took over 3 s, so Slack delivered the event again.
    ack(function_url_event(payload, retry_num=1))
    first, retry = fake_lambda.invocations
    for invocation in (first, retry):  # Lambda may even run both lazy invocations
        run_lazy(invocation.payload)
    assert fake_slack.thread_texts(CHANNEL, "1700000004.000100") == ["Answer to: hello"]
    assert len(fake_bedrock.requests) == 1


def test_the_app_and_the_secret_are_loaded_once_per_container(fake_lambda, fake_slack, fake_secrets):
    for ts, text in (("1700000005.000100", "one"), ("1700000006.000100", "two")):
        ack(function_url_event(mention(ts, text)))
        run_lazy(fake_lambda.invocations[-1].payload)
    assert len(fake_slack.calls_to("auth.test")) == 1  # the first lazy invocation only
    assert fake_secrets.reads == [SECRET_ID]
    assert fake_slack.thread_texts(CHANNEL, "1700000006.000100") == ["Answer to: two"]


def test_a_feedback_click_reaches_the_same_listener_in_the_lazy_invocation(fake_lambda, caplog):
    # The feedback listener logs in its ack function: a lazy-only request would skip it.
    feedback_log = logging.getLogger("bot.slack.listeners.feedback")
    feedback_log.addHandler(caplog.handler)
    caplog.set_level(logging.INFO, logger=feedback_log.name)
    click = block_action(action_id="answer_feedback", value="positive", channel=CHANNEL,
                         user="U_ANA", message_ts="1700000007.000200",
                         thread_ts="1700000007.000100", block_id="feedback")
    try:
        response = ack(function_url_event(click, form=True))
        assert caplog.records == []
        run_lazy(fake_lambda.invocations[-1].payload)
    finally:
        feedback_log.removeHandler(caplog.handler)
    assert response["statusCode"] == 200
    assert [r.getMessage() for r in caplog.records] == [
        f"answer feedback positive on message 1700000007.000200 in session "
        f"T1:{CHANNEL}:1700000007.000100 from U_ANA"
    ]


def test_a_message_shortcut_is_answered_in_the_lazy_invocation(fake_lambda, fake_slack, fake_bedrock):
    thread = "1700000008.000100"
    fake_slack.seed_thread(CHANNEL, thread, [{"user": "U_ANA", "text": "Ship on Friday?"},
                                             {"user": "U_BO", "text": "Monday."}])
    fake_bedrock.reply = "Shipping on Monday."
    shortcut = message_shortcut(callback_id=SUMMARIZE_CALLBACK_ID, channel=CHANNEL, user="U_CY",
                                message_ts=thread, thread_ts=thread)
    assert ack(function_url_event(shortcut, form=True))["statusCode"] == 200
    run_lazy(fake_lambda.invocations[-1].payload)
    assert fake_slack.thread_texts(CHANNEL, thread) == ["Shipping on Monday."]


def test_the_slack_secret_must_hold_both_credentials(fake_secrets):
    fake_secrets.secrets[SECRET_ID] = json.dumps({"SLACK_BOT_TOKEN": "xoxb-only"})
    with pytest.raises(LambdaConfigError, match="SLACK_SIGNING_SECRET"):
        ack(function_url_event(mention("1700000009.000100", "hi")))


def test_an_invoke_that_fails_is_not_acknowledged_so_slack_retries(fake_lambda):
    fake_lambda.refuse_with = 429  # throttled twice in a row
    response = ack(function_url_event(mention("1700000010.000100", "hi")))
    assert response["statusCode"] == 500
    assert fake_lambda.invocations == []


def test_a_lazy_invocation_that_is_not_ours_is_refused_loudly(fake_slack):
    with pytest.raises(LazyInvocationRefused):
        run_lazy({LAZY_EVENT_KEY: {"version": 99}})
    with pytest.raises(LazyInvocationRefused):
        run_lazy({LAZY_EVENT_KEY: {"version": 1, "body": "{}"}})
    assert fake_slack.calls == []


@pytest.mark.parametrize("payload", [
    {"type": "event_callback", "event": "not an object"},
    {"type": "event_callback", "event": {"no": "type"}},
    {"no": "type"},
], ids=["event not an object", "event without a type", "no type"])
def test_a_signed_body_of_the_wrong_shape_gets_400_and_starts_nothing(fake_lambda, payload):
    assert ack(function_url_event(payload))["statusCode"] == 400
    assert fake_lambda.invocations == []


def test_an_unsigned_body_that_is_no_utf8_is_refused_not_an_error(fake_lambda):
    event = function_url_event(mention("1700000009.000100", "hi"), base64_body=True)
    event["body"] = base64.b64encode(b"\xff\xfe" + b"x" * 20).decode()
    assert ack(event)["statusCode"] == 401
    event["body"] = "not base64 at all!"
    assert ack(event)["statusCode"] == 401
    assert fake_lambda.invocations == []
