"""Issue 5, model faults: Bedrock throttles, times out and breaks streams; users see one
friendly line, never exception text, and their message is kept for the next turn.

Everything runs through the real ChatBedrockConverse (botocore's standard retry mode) against
the fake Bedrock, which fails on command.
"""

from __future__ import annotations

import pytest

from bot import messages as say
from tests.e2e.conftest import leaks_in
from tests.support.events import CHANNEL, mention, reply, ts_of

FAST = dict(model_max_attempts=3, model_timeout_seconds=0.5)


@pytest.mark.parametrize(
    ("kind", "options"),
    [
        ("throttling", {}),
        ("unavailable", {}),
        ("internal", {}),
        ("model_timeout", {}),
        ("timeout", {}),  # no answer within model_timeout_seconds: botocore's read timeout
        ("stream_error", {"exception": "throttlingException"}),
        ("stream_error", {"exception": "modelStreamErrorException"}),
        ("stream_error", {"exception": "serviceUnavailableException"}),
    ],
)
def test_transient_faults_are_retried_and_the_user_gets_the_answer(
    start_bot, fake_slack, fake_bedrock, kind, options
):
    bot = start_bot(**FAST)
    fake_bedrock.timeout_sleep = 1.5
    fake_bedrock.stream_error_after_chunks = 0  # the stream fails after HTTP 200, before text
    fake_bedrock.reply = "The answer, after all."
    fake_bedrock.fail_next(kind, times=1, **options)
    event = mention("are you there?")
    bot.post(event)
    bot.drain()

    assert len(fake_bedrock.requests) == 2
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == ["The answer, after all."]
    assert leaks_in(fake_slack) == []


def test_exhausted_retries_end_in_one_friendly_message_and_keep_the_question(
    start_bot, fake_slack, fake_bedrock, table_items
):
    bot = start_bot(**FAST)
    fake_bedrock.fail_next("throttling", times=3)
    first = mention("my secret word is pelican")
    bot.post(first)
    bot.drain()

    thread = ts_of(first)
    assert len(fake_bedrock.requests) == 3  # MODEL_MAX_ATTEMPTS, not more
    assert fake_slack.thread_texts(CHANNEL, thread) == [say.MODEL_BUSY]
    assert leaks_in(fake_slack) == []
    messages, _ = table_items()
    assert [item["Role"]["S"] for item in messages] == ["human"]

    bot.post(reply("what was my secret word?", thread_ts=thread))
    bot.drain()
    assert "my secret word is pelican" in fake_bedrock.all_text_sent(fake_bedrock.last_request)
    assert len(fake_slack.thread_texts(CHANNEL, thread)) == 2


def test_two_broken_streams_in_a_row_are_retried_and_the_third_answers(
    start_bot, fake_slack, fake_bedrock
):
    bot = start_bot(**FAST)
    fake_bedrock.stream_error_after_chunks = 0
    fake_bedrock.fail_next("stream_error", times=2, exception="throttlingException")
    event = mention("hello?")
    bot.post(event)
    bot.drain()
    assert len(fake_bedrock.requests) == 3
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1


def test_stream_errors_that_keep_coming_end_in_the_busy_message(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(**FAST)
    fake_bedrock.stream_error_after_chunks = 0
    fake_bedrock.fail_next("stream_error", times=10, exception="modelStreamErrorException")
    event = mention("hello?")
    bot.post(event)
    bot.drain()
    assert len(fake_bedrock.requests) == 3  # MODEL_MAX_ATTEMPTS streams
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == [say.MODEL_BUSY]


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("access_denied", say.MODEL_ACCESS),
        ("not_found", say.MODEL_NOT_FOUND),
        ("too_long", say.MODEL_TOO_LONG),
    ],
)
def test_faults_a_retry_cannot_fix_get_their_own_message_at_once(
    start_bot, fake_slack, fake_bedrock, table_items, kind, expected
):
    bot = start_bot(**FAST, model_id="arn:aws:bedrock:us-east-1:123456789012:inference-profile/x")
    fake_bedrock.fail_next(kind, times=5)
    event = mention("hi")
    bot.post(event)
    bot.drain()

    assert len(fake_bedrock.requests) == 1
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == [expected]
    assert leaks_in(fake_slack, ("arn:", "123456789012", "inference-profile")) == []
    assert leaks_in(fake_slack) == []
    messages, _ = table_items()
    assert [item["Role"]["S"] for item in messages] == ["human"]


def test_a_stream_that_breaks_after_text_was_shown_keeps_it_and_says_what_happened(
    start_bot, fake_slack, fake_bedrock, table_items
):
    bot = start_bot(**FAST)
    fake_bedrock.reply = "First part of a long answer that never ends"
    fake_bedrock.stream_error_after_chunks = 3
    fake_bedrock.fail_next("stream_error", exception="throttlingException")
    event = mention("tell me a story")
    bot.post(event)
    bot.drain()

    # Not retried: the user already reads part of it, a second answer would repeat it.
    assert len(fake_bedrock.requests) == 1
    [shown] = fake_slack.thread_texts(CHANNEL, ts_of(event))
    assert shown.startswith("First part o")
    assert shown.endswith(say.MODEL_BUSY)
    assert leaks_in(fake_slack) == []
    messages, _ = table_items()
    assert [item["Role"]["S"] for item in messages] == ["human"]


def test_model_failures_never_reach_slack_as_text_in_any_call(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(**FAST)
    kinds = ["throttling", "access_denied", "not_found", "too_long", "internal", "unavailable"]
    for kind in kinds:
        fake_bedrock.fail_next(kind, times=3)
        bot.post(mention(f"fault {kind}"))
        bot.drain()
    assert leaks_in(fake_slack) == []
    assert len(fake_slack.bot_messages()) == len(kinds)
