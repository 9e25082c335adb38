"""The lazy invocation cannot lose an answer quietly: it is trusted by how it arrived (a direct
Invoke), so a delay past Slack's 5-minute signature window still gets its answer; one older
than LAMBDA_MAX_EVENT_AGE_SECONDS, or whose listener fails, raises (Lambda then sends it to the
on-failure queue); a replay is answered once."""

from __future__ import annotations

import copy
import json
import time

import pytest
from slack_bolt import App, BoltRequest
from slack_sdk import WebClient
from slack_sdk.signature import SignatureVerifier

from bot import lambda_handler
from bot import messages as say
from bot.lambda_ack import LAZY_EVENT_KEY
from bot.lambda_lazy import InlineLazyListenerRunner, LazyInvocationRefused
from bot.store.dynamodb import DynamoDBMessageStore
from tests.e2e.aws_lambda.lambda_events import LambdaContext, function_url_event
from tests.fakes.signing import app_mention, compute_signature, event_callback
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET

pytestmark = pytest.mark.usefixtures("lambda_environment")

CHANNEL = "C0DELAYED"
MAX_AGE = 240  # LAMBDA_MAX_EVENT_AGE_SECONDS in tests/e2e/aws_lambda/conftest.py


def queued_lazy_invocation(fake_lambda, ts: str, text: str, *, signed_seconds_ago: int = 0) -> dict:
    """Ack a mention Slack signed `signed_seconds_ago`; the lazy invocation it queued."""
    event = app_mention(channel=CHANNEL, user="U_ANA", text=f"<@U_BOT> {text}", ts=ts)
    http = function_url_event(event_callback(event), timestamp=int(time.time()) - signed_seconds_ago)
    assert lambda_handler.handler(http, LambdaContext())["statusCode"] == 200
    return fake_lambda.invocations[-1].payload


def delivered_late(payload: dict, seconds: int) -> dict:
    """The same invocation as if everything (Slack's signature, the ack) happened `seconds`
    earlier: what a run `seconds` after the ack sees."""
    late = copy.deepcopy(payload)
    request = late[LAZY_EVENT_KEY]
    request["acked_at"] -= seconds
    timestamp = int(request["headers"]["x-slack-request-timestamp"]) - seconds
    request["headers"]["x-slack-request-timestamp"] = str(timestamp)
    request["headers"]["x-slack-signature"] = compute_signature(
        request["body"].encode(), SIGNING_SECRET, timestamp)
    return late


def test_a_lazy_invocation_delayed_past_slacks_signature_window_still_answers(fake_lambda, fake_slack):
    # Signed 4m50s before the ack (accepted), run a minute after it: the signature is 5m50s old.
    payload = queued_lazy_invocation(fake_lambda, "1700000101.000100", "late", signed_seconds_ago=290)
    late = delivered_late(payload, 60)
    headers = late[LAZY_EVENT_KEY]["headers"]
    assert not SignatureVerifier(SIGNING_SECRET).is_valid(
        late[LAZY_EVENT_KEY]["body"], headers["x-slack-request-timestamp"], headers["x-slack-signature"]
    )  # what Bolt would have refused with a 401 that Lambda counts as a success

    assert lambda_handler.handler(late, LambdaContext())["statusCode"] == 200
    assert fake_slack.thread_texts(CHANNEL, "1700000101.000100") == ["Answer to: late"]


def test_a_lazy_invocation_too_old_to_be_useful_raises_for_the_failure_queue(
    fake_lambda, fake_slack, fake_bedrock
):
    payload = queued_lazy_invocation(fake_lambda, "1700000102.000100", "stale")
    with pytest.raises(LazyInvocationRefused, match="LAMBDA_MAX_EVENT_AGE_SECONDS"):
        lambda_handler.handler(delivered_late(payload, MAX_AGE + 5), LambdaContext())
    assert fake_slack.calls == []
    assert fake_bedrock.requests == []
    # Just inside the limit it is answered.
    assert lambda_handler.handler(delivered_late(payload, MAX_AGE - 5), LambdaContext())["statusCode"] == 200
    assert fake_slack.thread_texts(CHANNEL, "1700000102.000100") == ["Answer to: stale"]


def test_a_replayed_lazy_invocation_answers_once(fake_lambda, fake_slack, fake_bedrock):
    # Lambda delivers asynchronous events at least once; someone may also re-invoke by hand.
    payload = queued_lazy_invocation(fake_lambda, "1700000103.000100", "twice?")
    for replay in (payload, json.loads(json.dumps(payload)), delivered_late(payload, 30)):
        assert lambda_handler.handler(replay, LambdaContext())["statusCode"] == 200
    assert fake_slack.thread_texts(CHANNEL, "1700000103.000100") == ["Answer to: twice?"]
    assert len(fake_bedrock.requests) == 1


def test_a_failing_lazy_listener_is_kept_not_just_logged(fake_slack):
    # A real Bolt app with one listener whose lazy function fails, run as the lazy invocation does.
    client = WebClient(token=BOT_TOKEN, base_url=fake_slack.url)
    app = App(client=client, signing_secret=SIGNING_SECRET, process_before_response=True)
    answered: list[str] = []

    def answer_then_fail(body: dict) -> None:
        answered.append(body["event"]["text"])
        raise RuntimeError("DynamoDB and Slack both gone")

    def answer_anyway(body: dict) -> None:
        answered.append(body["event"]["text"])

    app.event("app_mention")(ack=lambda ack: ack(), lazy=[answer_then_fail, answer_anyway])
    runner = InlineLazyListenerRunner(app.logger)
    app.listener_runner.lazy_listener_runner = runner
    http = function_url_event(event_callback(app_mention(channel=CHANNEL, text="hi")))
    response = app.dispatch(BoltRequest(body=http["body"], headers=dict(http["headers"])))

    assert response.status == 200  # Bolt itself reports nothing wrong
    (failure,) = runner.take_failures()
    assert str(failure) == "DynamoDB and Slack both gone"
    assert len(answered) == 2  # the other lazy listener still ran
    assert runner.take_failures() == []


def test_an_answer_that_would_outlive_the_function_keeps_what_was_shown_and_says_so(
    fake_lambda, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    # The function has 7 s left when the answer starts: it is closed 5 s before the deadline.
    fake_bedrock.reply = "word " * 400  # about 20 s at the rate below
    fake_bedrock.chunk_chars, fake_bedrock.tokens_per_second = 5, 20
    payload = queued_lazy_invocation(fake_lambda, "1700000104.000100", "write a lot")
    context = LambdaContext()
    context.get_remaining_time_in_millis = lambda: 7_000  # type: ignore[method-assign]

    started = time.monotonic()
    assert lambda_handler.handler(payload, context)["statusCode"] == 200
    assert time.monotonic() - started < 6
    (shown,) = fake_slack.thread_texts(CHANNEL, "1700000104.000100")
    assert shown.startswith("word word") and shown.endswith(say.INTERRUPTED)
    (closed,) = fake_slack.calls_to("chat.stopStream")
    assert closed.ok
    answer = DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=0).all(
        f"T1:{CHANNEL}:1700000104.000100")[-1]
    assert answer.role == "ai" and answer.metadata["status"] == "interrupted"
    assert json.loads(answer.metadata["usage"])["out"] > 0  # estimated: the stream was cut
    assert answer.text and answer.text in shown and say.INTERRUPTED not in answer.text
