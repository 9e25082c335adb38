"""Issue 5, Slack faults on the reply path: each is handled on purpose (retried, split, or
logged with what to do), and no worker dies: the bot answers the next event as usual."""

from __future__ import annotations

import logging

import pytest
from slack_sdk import WebClient

from bot import messages as say
from tests.e2e.conftest import leaks_in
from tests.support.events import CHANNEL, mention, ts_of

REPLY_METHODS = ("chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage",
                 "chat.update")


def test_a_rate_limited_stream_start_is_retried_after_retry_after(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = "Worth the wait."
    fake_slack.fail_next("chat.startStream", "ratelimited", retry_after=0)
    event = mention("hi")
    bot.post(event)
    bot.drain()

    starts = fake_slack.calls_to("chat.startStream")
    assert [call.status for call in starts] == [429, 200]
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == ["Worth the wait."]


def test_a_rate_limited_post_is_retried_after_retry_after(bot, fake_slack, fake_bedrock):
    fake_slack.refuse_streaming()
    fake_bedrock.reply = "Posted after one second."
    fake_slack.fail_next("chat.postMessage", "ratelimited", retry_after=1)
    event = mention("hi")
    bot.post(event)
    bot.drain()

    posts = fake_slack.calls_to("chat.postMessage")
    assert [call.status for call in posts] == [429, 200]
    assert posts[1].time - posts[0].time >= 0.9  # Slack's Retry-After was honoured
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == ["Posted after one second."]


def test_rate_limiting_that_outlasts_the_retries_falls_back_to_posting(
    bot, fake_slack, fake_bedrock, caplog
):
    caplog.set_level(logging.INFO)
    fake_bedrock.reply = "Still delivered."
    fake_slack.fail_next("chat.startStream", "ratelimited", retry_after=0, times=5)
    event = mention("hi")
    bot.post(event)
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == ["Still delivered."]
    assert any("ratelimited" in r.getMessage() for r in caplog.records)


def test_msg_too_long_splits_the_answer_into_messages_slack_accepts(bot, fake_slack, fake_bedrock):
    fake_slack.refuse_streaming()
    paragraphs = [f"Paragraph {n}: " + "words " * 60 for n in range(8)]
    fake_bedrock.reply = "\n\n".join(paragraphs)
    fake_bedrock.chunk_chars = 5000  # the whole answer in one piece: one chat.postMessage
    fake_slack.fail_next("chat.postMessage", "msg_too_long")
    event = mention("write a lot")
    bot.post(event)
    bot.drain()

    shown = fake_slack.thread_texts(CHANNEL, ts_of(event))
    assert len(shown) >= 2
    joined = "\n\n".join(shown)
    assert all(p.strip() in joined for p in paragraphs)
    assert [c.error for c in fake_slack.calls_to("chat.postMessage")][0] == "msg_too_long"


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("not_in_channel", "invite the bot to the channel"),
        ("channel_not_found", "the channel is gone or the bot cannot see it"),
        ("invalid_auth", "into SLACK_BOT_TOKEN"),
    ],
)
def test_a_conversation_the_bot_cannot_write_to_is_logged_and_the_next_event_is_answered(
    bot, fake_slack, fake_bedrock, caplog, error, hint
):
    caplog.set_level(logging.DEBUG)
    fake_slack.fail_next("*", error, times=1000)
    blocked = mention("can you hear me?")
    assert bot.post(blocked)[0] == 200
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, ts_of(blocked)) == []
    assert len(fake_bedrock.requests) == 1
    logged = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any(error in line and hint in line for line in logged), logged
    assert "xoxb-" not in caplog.text

    fake_slack.reset()  # the channel is fixed: the same worker pool answers again
    later = mention("and now?")
    assert bot.post(later)[0] == 200
    bot.drain()
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(later))) == 1
    assert leaks_in(fake_slack) == []


def test_slack_answering_503_once_on_every_reply_call_still_delivers_one_answer(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = "One answer, whatever happens."
    for method in REPLY_METHODS:
        fake_slack.fail_next(method, "service_unavailable", status=503)
    event = mention("hi")
    bot.post(event)
    bot.drain()
    shown = fake_slack.thread_texts(CHANNEL, ts_of(event))
    assert shown == ["One answer, whatever happens."]
    assert 503 in [call.status for call in fake_slack.calls]


def test_a_fault_nobody_planned_for_while_taking_a_message_in_ends_in_one_line_and_a_retry_answers(
    bot, fake_slack, fake_bedrock, monkeypatch, caplog
):
    fake_bedrock.reply = "Answered on the retry."
    looked_up = WebClient.users_info

    def broken(self, **kwargs):  # a library bug: an exception of no kind the bot expects
        raise RuntimeError("unexpected")

    monkeypatch.setattr(WebClient, "users_info", broken)
    event = mention("hi")
    bot.post(event)
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == [say.MODEL_FAILED]
    assert not fake_bedrock.requests
    assert any("taking in" in r.getMessage() and "RuntimeError" in r.getMessage()
               for r in caplog.records)
    monkeypatch.setattr(WebClient, "users_info", looked_up)
    bot.post(event, retry_num=1, retry_reason="http_timeout")  # the claim was released
    bot.drain()
    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == [say.MODEL_FAILED,
                                                              "Answered on the retry."]
