"""Bedrock Guardrails end to end: every request the real ChatBedrockConverse sends carries
guardrailConfig; an intervention mid-stream ends the answer with one friendly line, is logged
without content and stored marked."""

from __future__ import annotations

import logging

import pytest

from bot import messages as say
from bot.core.endings import BLOCKED
from tests.e2e.conftest import CHANNEL, leaks_in, mention

THREAD = "1700000001.000100"
GUARDRAIL = {"guardrail_id": "gr0abc123", "guardrail_version": "3"}
SAFE = "Here is a safe start"  # five 4-character pieces


@pytest.fixture
def guarded_bot(start_bot):
    return lambda **overrides: start_bot(**GUARDRAIL, **overrides)


def stored_answer(bot):
    return next(m for m in bot.deps.store.all(f"T1:{CHANNEL}:{THREAD}") if m.role == "ai")


def test_every_request_carries_the_guardrail_in_sync_streaming(guarded_bot, fake_bedrock):
    bot = guarded_bot()
    bot.post(mention(THREAD, "hello"))
    bot.drain()
    bot.post(mention("1700000002.000100", "again", thread_ts=THREAD))
    bot.drain()
    assert [r.body["guardrailConfig"] for r in fake_bedrock.requests] == [{
        "guardrailIdentifier": "gr0abc123", "guardrailVersion": "3",
        "trace": "disabled", "streamProcessingMode": "sync",
    }] * 2


def test_without_a_guardrail_no_config_is_sent(bot, fake_bedrock):
    bot.post(mention(THREAD, "hello"))
    bot.drain()
    assert "guardrailConfig" not in fake_bedrock.last_request.body


def test_an_intervention_mid_stream_ends_with_one_friendly_line(guarded_bot, fake_slack,
                                                              fake_bedrock, caplog):
    fake_bedrock.reply = SAFE + " and then something the policy blocks"
    fake_bedrock.intervention_after_chunks = 5
    bot = guarded_bot(guardrail_trace="enabled")
    with caplog.at_level(logging.INFO):
        bot.post(mention(THREAD, "tell me something risky"))
        bot.drain()

    assert fake_slack.thread_texts(CHANNEL, THREAD) == [f"{SAFE}\n\n{say.GUARDRAIL_BLOCKED}"]
    assert leaks_in(fake_slack, [fake_bedrock.guardrail_message, "policy blocks"]) == []
    record = stored_answer(bot)
    assert (record.text, record.metadata["status"]) == (SAFE, BLOCKED)
    warnings = [r.getMessage() for r in caplog.records if "guardrail" in r.getMessage()]
    assert any("gr0abc123" in w and "contentPolicy" in w for w in warnings), warnings
    logged = caplog.text
    for content in ("tell me something risky", SAFE, fake_bedrock.guardrail_message):
        assert content not in logged


def test_a_blocked_question_gets_only_the_line(guarded_bot, fake_slack, fake_bedrock):
    fake_bedrock.intervention_after_chunks = 0
    bot = guarded_bot()
    bot.post(mention(THREAD, "something blocked"))
    bot.drain()
    assert fake_slack.thread_texts(CHANNEL, THREAD) == [say.GUARDRAIL_BLOCKED]
    assert stored_answer(bot).metadata["status"] == BLOCKED


def test_the_guardrails_own_message_when_configured(guarded_bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = SAFE + " and more"
    fake_bedrock.intervention_after_chunks = 5
    bot = guarded_bot(guardrail_show_message=True)
    bot.post(mention(THREAD, "tell me"))
    bot.drain()
    assert fake_slack.thread_texts(CHANNEL, THREAD) == [f"{SAFE}\n\n{fake_bedrock.guardrail_message}"]


def test_async_streaming_and_full_trace_are_passed_on(guarded_bot, fake_bedrock):
    bot = guarded_bot(guardrail_stream_mode="async", guardrail_trace="enabled_full")
    bot.post(mention(THREAD, "hello"))
    bot.drain()
    config = fake_bedrock.last_request.body["guardrailConfig"]
    assert (config["streamProcessingMode"], config["trace"]) == ("async", "enabled_full")
