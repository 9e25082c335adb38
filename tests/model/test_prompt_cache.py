"""Prompt caching through the real conversation, store and clients: where each provider's
cache markers are on the wire, and that a growing thread sends the same prefix turn after turn."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot.config import Settings
from bot.core.records import IncomingMessage, SessionKey
from bot.model.cache import is_known_to_cache
from bot.wiring import Dependencies, build_dependencies
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.bedrock import FakeBedrock, without_cache_points
from tests.fakes.openai_api import FakeOpenAI

SYSTEM = "You are a test bot."
POINT = {"cachePoint": {"type": "default"}}
MakeSettings = Callable[..., Settings]


class FailingSink:
    """A reply sink that turns a failed answer into a failed test."""

    def show_status(self) -> None: ...

    def write(self, text: str) -> None: ...

    def finish(self, *, note: str = "") -> str:
        return ""

    def fail(self, message: str) -> None:
        raise AssertionError(message)


@pytest.fixture
def bot(make_settings: MakeSettings, tmp_path: Path) -> Callable[..., Dependencies]:
    def make(**values: Any) -> Dependencies:
        return build_dependencies(make_settings(
            sqlite_path=tmp_path / "history.sqlite3", system_prompt=SYSTEM, **values
        ))

    return make


def converse(deps: Dependencies, *texts: str) -> None:
    for turn, text in enumerate(texts, start=1):
        message = IncomingMessage(SessionKey("T1", "C1", "100.000001"), f"{200 + turn}.000001",
                                  "U1", text, "Ana")
        deps.conversation.claim(message)
        deps.conversation.answer(message, FailingSink())


def cache_points_of(body: dict[str, Any]) -> list[tuple[str, int, int]]:
    """Where each cachePoint block is: ("system", -, index) or ("messages", message, index)."""
    found = [("system", -1, i) for i, b in enumerate(body["system"]) if "cachePoint" in b]
    for m_index, message in enumerate(body["messages"]):
        found += [("messages", m_index, i) for i, b in enumerate(message["content"]) if "cachePoint" in b]
    return found


def test_bedrock_marks_the_end_of_the_system_prompt_and_of_the_replayed_history(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = "Hi Lee!"
    converse(bot(bedrock_endpoint_url=fake_bedrock.url), "My name is Lee.", "What is my name?")

    first, second = fake_bedrock.requests
    assert first.body["system"] == [{"text": SYSTEM}, POINT]
    assert first.body["messages"] == [{"role": "user", "content": [{"text": "My name is Lee."}]}]
    assert second.body["system"] == [{"text": SYSTEM}, POINT]
    assert second.body["messages"] == [
        {"role": "user", "content": [{"text": "My name is Lee."}]},
        {"role": "assistant", "content": [{"text": "Hi Lee!"}, POINT]},
        {"role": "user", "content": [{"text": "What is my name?"}]},
    ]


def test_a_growing_thread_sends_the_same_bytes_up_to_the_last_cache_point_and_reads_them_cached(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = "A long answer. " + "y" * 2000
    # About thirteen turns fit the budget: the window moves several times in 30 turns.
    deps = bot(bedrock_endpoint_url=fake_bedrock.url, context_token_budget=8_000)
    converse(deps, *(f"question {turn} " + "x" * 290 for turn in range(1, 31)))

    # The answers' requests; the summaries of what left the window are requests of their own.
    answers = [(request, usage) for request, usage in zip(fake_bedrock.requests,
                                                         fake_bedrock.usages, strict=True)
               if request.body["system"][0]["text"] == SYSTEM]
    requests, usages = [request for request, _ in answers], [usage for _, usage in answers]
    assert len(requests) == 30
    shared = moved = 0
    for turn in range(1, len(requests) - 1):  # the first turn has no history to mark
        before, after = requests[turn].body, requests[turn + 1].body
        kind, message, _ = cache_points_of(before)[-1]
        assert kind == "messages" and message == len(before["messages"]) - 2
        if before["messages"][0] != after["messages"][0]:
            # The window moved: the system prompt alone is under the minimum, nothing is read.
            assert usages[turn + 1]["cacheReadInputTokens"] == 0
            moved += 1
            continue
        prefix = without_cache_points({"system": before["system"], "messages": before["messages"][: message + 1]})
        again = without_cache_points({"system": after["system"], "messages": after["messages"][: message + 1]})
        assert json.dumps(again).encode() == json.dumps(prefix).encode()
        # Everything the turn before cached up to its last point is read back.
        assert usages[turn + 1]["cacheReadInputTokens"] == (
            usages[turn]["cacheReadInputTokens"] + usages[turn]["cacheWriteInputTokens"]
        )
        shared += 1
    assert moved >= 3
    assert shared >= 20  # of 28 pairs of turns


def test_an_hour_long_cache_sends_its_ttl_at_every_point(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    converse(bot(bedrock_endpoint_url=fake_bedrock.url, prompt_cache_ttl="1h"), "a", "b")

    body = fake_bedrock.last_request.body
    marked = [body["system"][-1], body["messages"][1]["content"][-1]]
    assert marked == [{"cachePoint": {"type": "default", "ttl": "1h"}}] * 2
    assert len(cache_points_of(body)) == 2


@pytest.mark.parametrize(
    "values",
    [{"prompt_cache": False}, {"model_id": "meta.llama3-3-70b-instruct-v1:0"}],
    ids=["PROMPT_CACHE=false", "not_a_claude_model"],
)
def test_no_cache_point_is_sent_when_caching_is_off(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock, values: dict[str, Any]
) -> None:
    converse(bot(bedrock_endpoint_url=fake_bedrock.url, **values), "a", "b")

    for request in fake_bedrock.requests:
        assert cache_points_of(request.body) == []
        assert request.body["system"] == [{"text": SYSTEM}]
    assert "cacheReadInputTokens" not in fake_bedrock.usages[-1]


def test_prompt_cache_true_marks_a_model_not_known_to_cache(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    converse(bot(bedrock_endpoint_url=fake_bedrock.url, model_id="amazon.nova-pro-v1:0",
                 prompt_cache=True), "a", "b")

    assert len(cache_points_of(fake_bedrock.last_request.body)) == 2


@pytest.mark.parametrize(
    ("ttl", "control"),
    [("5m", {"type": "ephemeral"}), ("1h", {"type": "ephemeral", "ttl": "1h"})],
)
def test_anthropic_gets_cache_control_at_the_same_points(
    bot: Callable[..., Dependencies], fake_anthropic: FakeAnthropic, ttl: str, control: dict[str, str]
) -> None:
    fake_anthropic.reply = "Hi Lee!"
    converse(bot(model_provider="anthropic", anthropic_api_key="sk-ant-test",
                 anthropic_base_url=fake_anthropic.url, prompt_cache_ttl=ttl),
             "My name is Lee.", "What is my name?")

    body = fake_anthropic.last_request.body
    assert body["system"] == [{"type": "text", "text": SYSTEM, "cache_control": control}]
    assert body["messages"] == [
        {"role": "user", "content": "My name is Lee."},
        {"role": "assistant", "content": [{"type": "text", "text": "Hi Lee!", "cache_control": control}]},
        {"role": "user", "content": "What is my name?"},
    ]


def test_openai_compatible_servers_get_no_cache_markers(
    bot: Callable[..., Dependencies], fake_openai: FakeOpenAI
) -> None:
    fake_openai.reply = "Hi Lee!"
    converse(bot(model_provider="openai", openai_base_url=fake_openai.url, model_id="llama3.2",
                 prompt_cache=True), "My name is Lee.", "What is my name?")

    assert fake_openai.last_request.messages == [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": "My name is Lee."},
        {"role": "assistant", "content": "Hi Lee!"},
        {"role": "user", "content": "What is my name?"},
    ]


@pytest.mark.parametrize(
    ("provider", "model_id", "known"),
    [
        ("bedrock", "us.anthropic.claude-sonnet-4-6", True),
        ("bedrock", "anthropic.claude-3-haiku-20240307-v1:0", True),
        ("bedrock", "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-sonnet-4-6", True),
        ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:application-inference-profile/a1b2c3", True),
        ("bedrock", "arn:aws:bedrock:us-east-1::foundation-model/meta.llama3-3-70b-instruct-v1:0", False),
        ("bedrock", "arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.amazon.nova-pro-v1:0",
         False),
        ("bedrock", "amazon.nova-pro-v1:0", False),
        ("anthropic", "claude-haiku-4-5", True),
        ("openai", "claude-via-a-proxy", False),
        ("local", "smollm2-135m-instruct", False),
    ],
)
def test_which_models_are_known_to_cache(
    make_settings: MakeSettings, provider: str, model_id: str, known: bool
) -> None:
    assert is_known_to_cache(make_settings(model_provider=provider, model_id=model_id)) is known
