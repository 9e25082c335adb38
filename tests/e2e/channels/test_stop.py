"""Slack's Stop button end to end: the agent session is `processing` while the bot answers,
`agent_session_stopped` during a slow stream ends it with what was shown and a mark, the
partial answer is stored as stopped, and where sessions are unavailable nothing changes."""

from __future__ import annotations

import time

import pytest

from bot import messages as say
from bot.core.endings import STOPPED
from tests.e2e.conftest import CHANNEL, mention
from tests.fakes.signing import event_callback

THREAD = "1700000001.000100"
SESSION = f"T1:{CHANNEL}:{THREAD}"
LONG_REPLY = " ".join(f"word{i}" for i in range(600))
STOP_MARK = f"\n\n_{say.STOPPED}_"


@pytest.fixture
def slow_bedrock(fake_bedrock):
    fake_bedrock.reply = LONG_REPLY
    fake_bedrock.tokens_per_second = 40  # about 90 s for the whole answer
    return fake_bedrock


def session_statuses(fake_slack, channel=CHANNEL, thread_ts=THREAD) -> list[str]:
    return [c.params["status"] for c in fake_slack.calls_to("agents.sessions.setStatus")
            if (c.params["channel_id"], c.params.get("thread_ts")) == (channel, thread_ts)]


def wait_until(condition, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def stored_answer(bot):
    return next(m for m in bot.deps.store.all(SESSION) if m.role == "ai")


def test_stop_during_a_slow_stream_keeps_what_was_shown(start_bot, fake_slack, slow_bedrock):
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "tell me a long story"))
    fake_slack.wait_for("chat.appendStream", count=2)
    assert fake_slack.agent_sessions[(CHANNEL, THREAD)] == "processing"

    status, _ = bot.post(event_callback(fake_slack.click_stop(CHANNEL, THREAD)))
    assert status == 200
    bot.drain()

    assert session_statuses(fake_slack) == ["processing", "active"]
    assert fake_slack.agent_sessions[(CHANNEL, THREAD)] == "active"
    [answer] = fake_slack.thread_messages(CHANNEL, THREAD)
    shown = answer.visible_text
    assert shown.endswith(STOP_MARK)
    partial = shown.removesuffix(STOP_MARK)
    assert partial and LONG_REPLY.startswith(partial) and len(partial) < len(LONG_REPLY)
    # Slack had stopped the stream on the click: the mark is added by an edit, with the buttons.
    stop_calls = fake_slack.calls_to("chat.stopStream")
    assert [c.error for c in stop_calls] == ["message_not_in_streaming_state"]
    assert fake_slack.calls_to("chat.update")[-1].params["ts"] == answer.ts
    record = stored_answer(bot)
    assert record.text == partial
    assert record.metadata["status"] == STOPPED
    assert record.slack_ts == answer.ts
    assert len(slow_bedrock.requests) == 1
    wait_until(lambda: slow_bedrock.streams_cut == 1)  # the model's stream was closed


def test_the_next_turn_sees_the_stopped_answer(start_bot, fake_slack, slow_bedrock):
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "tell me a long story"))
    fake_slack.wait_for("chat.appendStream", count=2)
    bot.post(event_callback(fake_slack.click_stop(CHANNEL, THREAD)))
    bot.drain()
    partial = stored_answer(bot).text

    slow_bedrock.reply, slow_bedrock.tokens_per_second = "Sure.", None
    bot.post(mention("1700000009.000100", "shorter please", thread_ts=THREAD))
    bot.drain()
    replayed = slow_bedrock.last_messages()
    assert [m["role"] for m in replayed] == ["user", "assistant", "user"]
    assert partial in replayed[1]["content"][0]["text"]
    assert session_statuses(fake_slack) == ["processing", "active", "processing", "active"]


def test_a_stop_with_nothing_running_does_nothing(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "hi"))
    bot.drain()
    calls_before = len(fake_slack.calls)

    status, _ = bot.post(event_callback(fake_slack.click_stop(CHANNEL, THREAD)))
    assert status == 200
    bot.drain()
    assert fake_slack.calls[calls_before:] == []
    assert stored_answer(bot).metadata.get("status") is None
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["Answer to: hi"]


@pytest.mark.parametrize("refusal", ["missing_scope", "feature_disabled", "not_allowed_token_type"])
def test_without_agent_sessions_the_turn_works_as_before(start_bot, fake_slack, fake_bedrock,
                                                         refusal):
    fake_slack.agent_sessions_refusal = refusal
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "hi"))
    bot.drain()
    bot.post(mention("1700000002.000100", "again"))
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["Answer to: hi"]
    assert fake_slack.thread_texts(CHANNEL, "1700000002.000100") == ["Answer to: again"]
    # Refused once, then the workspace is left alone: no call per turn, no "active" after.
    assert [c.error for c in fake_slack.calls_to("agents.sessions.setStatus")] == [refusal]


def test_a_failed_status_call_never_breaks_the_turn(start_bot, fake_slack, fake_bedrock):
    fake_slack.fail_next("agents.sessions.setStatus", "internal_error")
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "hi"))
    bot.drain()
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["Answer to: hi"]
    assert stored_answer(bot).text == "Answer to: hi"
    # processing failed: the session was never shown as working, so it is not set back either.
    assert [c.error for c in fake_slack.calls_to("agents.sessions.setStatus")] == ["internal_error"]


def test_agent_sessions_off_makes_no_session_calls(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(agent_sessions=False)
    bot.post(mention(THREAD, "hi"))
    bot.drain()
    assert fake_slack.calls_to("agents.sessions.setStatus") == []
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["Answer to: hi"]


def test_a_stop_that_reached_another_replica_still_stops_the_answer(start_bot, fake_slack,
                                                                    slow_bedrock):
    # The event went elsewhere: this bot only sees Slack refuse its next append.
    bot = start_bot(agent_sessions=True)
    bot.post(mention(THREAD, "tell me a long story"))
    fake_slack.wait_for("chat.appendStream", count=2)
    fake_slack.click_stop(CHANNEL, THREAD)  # not posted to this bot
    bot.drain()

    [answer] = fake_slack.thread_messages(CHANNEL, THREAD)
    assert answer.visible_text.endswith(STOP_MARK)
    partial = answer.visible_text.removesuffix(STOP_MARK)
    assert LONG_REPLY.startswith(partial) and len(partial) < len(LONG_REPLY)
    assert fake_slack.calls_to("chat.postMessage") == []  # the rest never went on elsewhere
    record = stored_answer(bot)
    assert (record.text, record.metadata["status"]) == (partial, STOPPED)
    assert session_statuses(fake_slack) == ["processing", "active"]
    wait_until(lambda: slow_bedrock.streams_cut == 1)
