"""Graceful stop in HTTP mode: on SIGTERM the replica stops taking requests but finishes the
answers it is writing, then exits cleanly."""

from __future__ import annotations

import json
import urllib.error
import urllib.request

import pytest

from bot import messages as say
from bot.store.dynamodb import DynamoDBMessageStore
from tests.fakes.signing import app_mention, event_callback


def test_sigterm_finishes_the_answer_in_progress_then_exits(start_replicas, fake_slack, fake_bedrock):
    fake_bedrock.latency = 1.5
    fake_bedrock.reply = "The answer, finished despite the shutdown."
    (replica,) = start_replicas(1)
    event = app_mention(channel="C0STOP", user="U_ANA", text="<@U_BOT> hi", ts="1700000001.000100")
    assert replica.post(event_callback(event))[0] == 200
    fake_bedrock.wait_for_requests(1)  # the model is working on the answer

    replica.terminate()
    assert replica.wait(timeout=20) == 0
    assert fake_slack.thread_texts("C0STOP", "1700000001.000100") == [fake_bedrock.reply]
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(f"{replica.url}/healthz", timeout=2)


def test_an_answer_longer_than_the_grace_keeps_what_was_shown_and_says_so(
    start_replicas, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    fake_bedrock.reply = "word " * 400  # about 20 s at the rate below
    fake_bedrock.chunk_chars, fake_bedrock.tokens_per_second = 5, 20
    (replica,) = start_replicas(1, SHUTDOWN_GRACE_SECONDS="1")
    thread = "1700000002.000100"
    event = app_mention(channel="C0STOP", user="U_ANA", text="<@U_BOT> write a lot", ts=thread)
    assert replica.post(event_callback(event))[0] == 200
    fake_slack.wait_for("chat.startStream")

    replica.terminate()
    assert replica.wait(timeout=20) == 0
    (shown,) = fake_slack.thread_texts("C0STOP", thread)
    assert shown.startswith("word word") and shown.endswith(say.INTERRUPTED)
    assert len(shown) < len(fake_bedrock.reply)
    (closed,) = fake_slack.calls_to("chat.stopStream")  # the stream was closed, not abandoned
    assert closed.ok
    answer = DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=0).all(
        f"T1:C0STOP:{thread}")[-1]
    assert answer.role == "ai" and answer.metadata["status"] == "interrupted"
    assert json.loads(answer.metadata["usage"])["out"] > 0  # estimated: the stream was cut
    assert answer.text and answer.text in shown and say.INTERRUPTED not in answer.text
