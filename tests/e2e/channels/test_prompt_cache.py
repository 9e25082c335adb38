"""Prompt caching end to end: the real Bolt app receives signed HTTP events, replays the thread
from DynamoDB Local and streams from the fake Bedrock, whose requests show where the cachePoint
blocks are (docs/prompt-cache.md): at the end of the system prompt and of the replayed history,
never in the new question, and none with PROMPT_CACHE=false."""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.bedrock import has_cache_points, without_cache_points
from tests.support.thread_events import CHANNEL, mention, reply

THREAD = "1700000000.000100"
SYSTEM = "You are a test bot."  # tests/conftest.py's bot_settings
POINT = {"cachePoint": {"type": "default"}}
QUESTIONS = ("My name is Lee.", "Where do I live?", "I live in Oslo.", "What is my name?")
# A model call's throttling retried until MODEL_MAX_ATTEMPTS is spent, quickly.
FAST = dict(model_max_attempts=3, model_timeout_seconds=0.5)


def numbered_reply(body: dict[str, Any]) -> str:
    return f"reply #{len(body['messages'])}"


def long_reply(body: dict[str, Any]) -> str:
    """About 1,100 tokens as the fake counts them: one answer fills Claude's cache minimum."""
    return f"reply #{len(body['messages'])}: " + " ".join(["lorem"] * 730)


def converse(bot, *questions: str) -> None:
    """A mention that starts THREAD, then follow-ups in it without a mention, one at a time."""
    bot.post(mention(THREAD, questions[0]))
    bot.drain()
    for turn, text in enumerate(questions[1:], start=1):
        bot.post(reply(f"{1700000000 + turn}.000100", text, thread_ts=THREAD))
        bot.drain()


def user(text: str) -> dict[str, Any]:
    return {"role": "user", "content": [{"text": text}]}


def assistant(text: str, *blocks: dict[str, Any]) -> dict[str, Any]:
    return {"role": "assistant", "content": [{"text": text}, *blocks]}


def cache_points_of(body: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Where each cachePoint block is: ("system", -1, index) or ("messages", message, index)."""
    found = [("system", -1, i) for i, b in enumerate(body["system"]) if "cachePoint" in b]
    for m_index, message in enumerate(body["messages"]):
        found += [("messages", m_index, i) for i, b in enumerate(message["content"]) if "cachePoint" in b]
    return found


def dumped(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False).encode()


def test_a_follow_up_marks_the_end_of_the_system_prompt_and_of_the_replayed_history(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = numbered_reply
    converse(bot, *QUESTIONS)

    assert len(fake_bedrock.requests) == 4  # one per turn, no summary
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["reply #1", "reply #3", "reply #5", "reply #7"]
    first, *_, last = fake_bedrock.requests
    # The first turn has no history: only the system prompt is marked.
    assert first.body["system"] == [{"text": SYSTEM}, POINT]
    assert first.body["messages"] == [user("My name is Lee.")]
    assert cache_points_of(first.body) == [("system", -1, 1)]
    # The fourth: one point closes the system prompt, one the answer before the new question.
    assert last.body["system"] == [{"text": SYSTEM}, POINT]
    assert last.body["messages"] == [
        user("My name is Lee."),
        assistant("reply #1"),
        user("Where do I live?"),
        assistant("reply #3"),
        user("I live in Oslo."),
        assistant("reply #5", POINT),
        user("What is my name?"),
    ]
    assert cache_points_of(last.body) == [("system", -1, 1), ("messages", 5, 1)]
    for request in fake_bedrock.requests[1:]:
        messages = request.body["messages"]
        assert cache_points_of(request.body) == [("system", -1, 1), ("messages", len(messages) - 2, 1)]
        assert messages[-1]["content"] == [{"text": QUESTIONS[len(messages) // 2]}]


def test_consecutive_turns_send_the_same_bytes_up_to_the_history_cache_point(
    bot, fake_bedrock
):
    fake_bedrock.reply = long_reply
    converse(bot, *QUESTIONS)

    requests = fake_bedrock.requests
    assert len(requests) == 4
    for turn, (before, after) in enumerate(zip(requests, requests[1:], strict=False), start=1):
        sent = len(before.body["messages"])
        assert len(after.body["messages"]) == sent + 2
        assert dumped(after.body["system"]) == dumped(before.body["system"])
        # The turn before, as sent but for its history point (its last point), is the start of
        # this turn's messages byte for byte; then come its answer, marked, and the new question.
        assert dumped(after.body["messages"][:sent]) == dumped(without_cache_points(before.body)["messages"])
        assert after.body["messages"][sent:] == [
            assistant(long_reply({"messages": [None] * (2 * turn - 1)}), POINT),
            user(QUESTIONS[turn]),
        ]
        assert {k: v for k, v in after.body.items() if k != "messages"} == {
            k: v for k, v in before.body.items() if k != "messages"}

    # The fake caches as Bedrock does: what a turn wrote up to its history point, the next reads.
    usages = fake_bedrock.usages
    assert [(u["cacheReadInputTokens"], u["cacheWriteInputTokens"] > 0) for u in usages[:2]] == [
        (0, False),  # the system prompt alone is under the 1,024-token minimum
        (0, True),
    ]
    for before, after in zip(usages[1:], usages[2:], strict=False):
        assert after["cacheReadInputTokens"] == before["cacheReadInputTokens"] + before["cacheWriteInputTokens"]
        assert after["cacheWriteInputTokens"] > 0


def test_a_follow_up_to_an_unanswered_question_is_merged_into_it_after_the_point(
    start_bot, fake_bedrock
):
    bot = start_bot(**FAST)
    fake_bedrock.reply = numbered_reply
    bot.post(mention(THREAD, "My name is Lee."))
    bot.drain()
    fake_bedrock.fail_next("throttling", times=3)  # every attempt of the second turn
    bot.post(reply("1700000001.000100", "Where do I live?", thread_ts=THREAD))
    bot.drain()
    bot.post(reply("1700000002.000100", "I live in Oslo.", thread_ts=THREAD))
    bot.drain()

    assert len(fake_bedrock.requests) == 5
    last = fake_bedrock.last_request
    assert last.body["system"] == [{"text": SYSTEM}, POINT]
    assert last.body["messages"] == [
        user("My name is Lee."),
        assistant("reply #1", POINT),
        user("Where do I live?\n\nI live in Oslo."),
    ]
    # The failed turn's attempts were marked the same way: the merged question reads that prefix.
    for failed in fake_bedrock.requests[1:4]:
        assert failed.body["messages"] == [
            user("My name is Lee."), assistant("reply #1", POINT), user("Where do I live?")]


def test_prompt_cache_false_sends_no_cache_point_at_all(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(prompt_cache=False)
    fake_bedrock.reply = numbered_reply
    converse(bot, *QUESTIONS)

    assert len(fake_bedrock.requests) == 4
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["reply #1", "reply #3", "reply #5", "reply #7"]
    for request in fake_bedrock.requests:
        assert request.body["system"] == [{"text": SYSTEM}]
        assert cache_points_of(request.body) == []
        assert not has_cache_points(request.body)
        assert "cachePoint" not in json.dumps(request.body)
    assert fake_bedrock.last_request.body["messages"] == [
        user("My name is Lee."),
        assistant("reply #1"),
        user("Where do I live?"),
        assistant("reply #3"),
        user("I live in Oslo."),
        assistant("reply #5"),
        user("What is my name?"),
    ]
    for usage in fake_bedrock.usages:
        assert "cacheReadInputTokens" not in usage and "cacheWriteInputTokens" not in usage
