"""Graceful stop in HTTP mode: on SIGTERM the replica stops taking requests but finishes the
answers it is writing, then exits cleanly."""

from __future__ import annotations

import urllib.error
import urllib.request

import pytest

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
