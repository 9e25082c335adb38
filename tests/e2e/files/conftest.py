"""The file suites' bot: downloads allowed from the fake Slack's own host only."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest

from tests.fakes.bedrock import BedrockRequest
from tests.fakes.signing import app_mention, event_callback, message
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import BotServer

CHANNEL = "C0CHANNEL"


@pytest.fixture
def start_files_bot(start_bot: Callable[..., BotServer], fake_slack: FakeSlack
                    ) -> Callable[..., BotServer]:
    def start(**overrides: Any) -> BotServer:
        return start_bot(**{"slack_file_hosts": (f"127.0.0.1:{fake_slack.port}",), **overrides})

    return start


@pytest.fixture
def files_bot(start_files_bot: Callable[..., BotServer]) -> BotServer:
    return start_files_bot()


def mention_with_files(ts: str, text: str, files: list[dict[str, Any]], *,
                       thread_ts: str | None = None, user: str = "U_ANA") -> dict[str, Any]:
    event = app_mention(channel=CHANNEL, user=user, text=f"<@U_BOT> {text}", ts=ts,
                        thread_ts=thread_ts, files=files)
    return event_callback(event)


def reply(ts: str, text: str, *, thread_ts: str, files: list[dict[str, Any]] | None = None,
          user: str = "U_ANA", channel: str = CHANNEL) -> dict[str, Any]:
    extra: dict[str, Any] = {"files": files, "subtype": "file_share"} if files else {}
    event = message(channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts,
                    channel_type="im" if channel.startswith("D") else "channel", **extra)
    return event_callback(event)


def blocks_of(request: BedrockRequest, kind: str) -> list[dict[str, Any]]:
    """The request's `image` or `document` blocks, bytes decoded, in order."""
    found = []
    for turn in request.messages:
        for block in turn["content"]:
            if kind in block:
                inner = dict(block[kind])
                inner["bytes"] = base64.b64decode(inner["source"]["bytes"])
                found.append(inner)
    return found


def texts_of(request: BedrockRequest) -> str:
    return "\n".join(b["text"] for m in request.messages for b in m["content"] if "text" in b)


# The Anthropic and OpenAI-compatible fakes, for the provider suite.
from tests.support.model_fixtures import fake_anthropic as fake_anthropic  # noqa: E402
from tests.support.model_fixtures import fake_openai as fake_openai  # noqa: E402
