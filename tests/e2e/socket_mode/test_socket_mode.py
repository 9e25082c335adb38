"""Socket Mode end to end: the real bot (`python -m bot socket`, a process of its own) opens a
connection through the fake Slack's apps.connections.open, receives events_api envelopes from
the fake Socket Mode server, acknowledges each on the socket, and answers in the right thread
through the fake Slack Web API, with the fake Bedrock and DynamoDB Local behind it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.signing import app_mention, event_callback
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode
from tests.support.socket_mode_bot import APP_TOKEN, SocketModeBotProcess

CHANNEL = "C0SOCKET"


def mention(ts: str, text: str, *, channel: str = CHANNEL) -> dict:
    event = app_mention(channel=channel, user="U_ANA", text=f"<@U_BOT> {text}", ts=ts)
    return event_callback(event)


@pytest.fixture
def socket_mode(fake_slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode(app_id=fake_slack.app_id) as server:
        fake_slack.socket_mode_url = server.url
        yield server


@pytest.fixture
def bot_log(tmp_path: Path) -> Path:
    return tmp_path / "bot.log"


@pytest.fixture
def socket_bot(
    socket_mode: FakeSocketMode, process_env: dict[str, str], bot_log: Path
) -> Iterator[SocketModeBotProcess]:
    bot = SocketModeBotProcess(process_env, connections=lambda: socket_mode.connections, log_path=bot_log)
    yield bot.start()
    bot.stop()


def wait_for_log_line(path: Path, text: str, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while text not in path.read_text(errors="replace"):
        assert time.monotonic() < deadline, f"the bot never logged {text!r}"
        time.sleep(0.05)


def test_mention_over_the_socket_is_acked_there_and_answered_in_its_thread(
    socket_bot, socket_mode, fake_slack, fake_bedrock
):
    fake_bedrock.reply = "Hello Ana, nice to meet you."
    envelope_id = socket_mode.deliver(mention("1700000001.000100", "hi, I'm Ana"))

    socket_mode.wait_for_acks([envelope_id])
    assert socket_mode.envelope(envelope_id).ack == {"envelope_id": envelope_id}
    fake_slack.wait_for("chat.stopStream")
    assert fake_slack.thread_texts(CHANNEL, "1700000001.000100") == ["Hello Ana, nice to meet you."]
    start = fake_slack.calls_to("chat.startStream")[0].params
    assert (start["channel"], start["thread_ts"]) == (CHANNEL, "1700000001.000100")
    assert "hi, I'm Ana" in fake_bedrock.all_text_sent(fake_bedrock.last_request)
    opened = fake_slack.calls_to("apps.connections.open")
    assert [(call.ok, call.headers.get("Authorization")) for call in opened] == [
        (True, f"Bearer {APP_TOKEN}")
    ]


def test_retried_envelope_is_acked_and_not_answered_twice(
    socket_bot, socket_mode, fake_slack, fake_bedrock, bot_log
):
    fake_bedrock.latency = 0.3  # Slack's retry lands while the first delivery is being answered
    event = mention("1700000001.000100", "what is 6 x 7?")
    first = socket_mode.deliver(event)
    socket_mode.wait_for_acks([first])
    retry = socket_mode.deliver(event, retry_attempt=1, retry_reason="timeout")

    socket_mode.wait_for_acks([retry])
    fake_slack.wait_for("chat.stopStream")
    wait_for_log_line(bot_log, "dropped duplicate delivery of 1700000001.000100")
    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.calls_to("chat.startStream")) == 1
    assert len(fake_slack.thread_texts(CHANNEL, "1700000001.000100")) == 1


def test_ten_mentions_at_once_are_all_acked_and_all_answered(
    socket_bot, socket_mode, fake_slack, fake_bedrock
):
    threads = [(f"C0SOCKET{index}", f"17000000{index:02d}.000100") for index in range(10)]
    envelope_ids = socket_mode.deliver_many(
        [mention(ts, f"question {index}", channel=channel)
         for index, (channel, ts) in enumerate(threads)]
    )

    socket_mode.wait_for_acks(envelope_ids)
    acked = {message["envelope_id"] for message in socket_mode.received}
    assert acked == set(envelope_ids)
    fake_slack.wait_for("chat.stopStream", timeout=30, count=len(threads))
    for channel, ts in threads:
        assert len(fake_slack.thread_texts(channel, ts)) == 1, channel
    assert len(fake_bedrock.requests) == len(threads)


def test_sigterm_closes_the_connection_but_finishes_the_answer_in_progress(
    socket_bot, socket_mode, fake_slack, fake_bedrock, bot_log
):
    fake_bedrock.latency = 1.5
    fake_bedrock.reply = "The answer, finished despite the shutdown."
    envelope_id = socket_mode.deliver(mention("1700000001.000100", "a question before the stop"))
    socket_mode.wait_for_acks([envelope_id])
    fake_bedrock.wait_for_requests(1)  # the model is working on the answer

    socket_bot.terminate()
    assert socket_bot.wait(timeout=20) == 0
    assert fake_slack.thread_texts(CHANNEL, "1700000001.000100") == [fake_bedrock.reply]
    assert "every answer in progress was finished" in bot_log.read_text(errors="replace")
    deadline = time.monotonic() + 5
    while socket_mode.open_connections:  # the server notices the closed socket soon after
        assert time.monotonic() < deadline, "the bot left its connection open"
        time.sleep(0.05)
