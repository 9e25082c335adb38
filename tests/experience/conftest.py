"""What a Slack user sees, end to end: the real app behind waitress, the fake Slack Web API and
the fake Bedrock stream. Helpers here send the events and clicks a person would cause."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from tests.fakes._http import FakeHTTPServer, QuietHandler
from tests.fakes.signing import app_mention, event_callback, message, post_interaction
from tests.support.bot_server import SIGNING_SECRET, BotServer

CHANNEL = "C0CHANNEL"
DM = "D0DM"
# Appends happen every STREAM_BUFFER characters only (never on a timer), so the number of
# chat.appendStream calls, and the fallback's single chat.update, are the same on every run.
STREAM_BUFFER = 400
NEVER = 1_000.0


def mention(ts: str, text: str, *, user: str = "U_ANA", thread_ts: str | None = None) -> dict:
    event = app_mention(channel=CHANNEL, user=user, text=f"<@U_BOT> {text}", ts=ts, thread_ts=thread_ts)
    return event_callback(event)


def dm_in_thread(ts: str, text: str, *, thread_ts: str, user: str = "U_ANA") -> dict:
    event = message(channel=DM, user=user, text=text, ts=ts, thread_ts=thread_ts, channel_type="im")
    return event_callback(event)


def interact(bot: BotServer, payload: dict[str, Any]) -> tuple[int, str]:
    """A click or shortcut, form-encoded and signed as Slack sends it."""
    return post_interaction(f"{bot.url}/slack/events", payload, SIGNING_SECRET)


@pytest.fixture
def steady_bot(start_bot: Callable[..., BotServer]) -> BotServer:
    return start_bot(stream_buffer_chars=STREAM_BUFFER, update_interval_seconds=NEVER)


class ResponseURL(FakeHTTPServer):
    """Stands in for a shortcut's `response_url` (hooks.slack.com): records what is posted."""

    def __init__(self) -> None:
        super().__init__()
        self.posted: list[dict[str, Any]] = []
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"{self.base_url}/actions/T1/1/hook"


class _ResponseURLHandler(QuietHandler):
    def do_POST(self) -> None:  # noqa: N802
        body = json.loads(self.read_body() or b"{}")
        with self.owner.lock:
            self.owner.posted.append(body)
        self.send_bytes(200, b"ok", {"Content-Type": "text/plain"})


ResponseURL.handler_class = _ResponseURLHandler


@pytest.fixture
def response_url() -> Iterator[ResponseURL]:
    server = ResponseURL().start()
    yield server
    server.stop()
