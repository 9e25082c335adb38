"""No message text in the logs unless asked for (LOG_MESSAGE_CONTENT): a canary string in every
message of a busy session never reaches the log, even at DEBUG, from our code or the libraries'
(Bolt's refused-signature line, slack_sdk, botocore), nor through a traceback."""

from __future__ import annotations

import json
import time

import pytest

from tests.fakes.signing import (
    app_mention,
    event_callback,
    message,
    message_changed,
    post_signed,
)
from tests.support.bot_server import SIGNING_SECRET

CANARY = "CANARY-7f3a9c"


@pytest.mark.parametrize("processes", ["0", "2"], ids=["one process", "front and workers"])
def test_a_canary_in_every_message_never_reaches_the_log(
    start_replicas, fake_slack, fake_bedrock, tmp_path, processes
):
    (bot,) = start_replicas(1, LOG_LEVEL="DEBUG", WORKER_PROCESSES=processes)
    url = f"{bot.url}/slack/events"
    thread = "1700000001.000100"
    bot.post(event_callback(app_mention(channel="C0LOG", user="U_ANA", ts=thread,
                                        text=f"<@U_BOT> {CANARY} first")))
    fake_slack.wait_for(lambda fake: fake.thread_texts("C0LOG", thread), timeout=30)
    dm = message(channel="D0LOG", user="U_ANA", text=f"{CANARY} in a DM")
    bot.post(event_callback(dm))
    fake_slack.wait_for(lambda fake: fake.thread_texts("D0LOG", dm["ts"]), timeout=30)
    fake_bedrock.fail_next("access_denied")
    bot.post(event_callback(app_mention(channel="C0LOG", user="U_ANA", ts="1700000003.000100",
                                        thread_ts=thread, text=f"<@U_BOT> {CANARY} fails")))
    bot.post(event_callback(message_changed(channel="C0LOG", ts=thread, user="U_ANA",
                                            text=f"<@U_BOT> {CANARY} edited")))
    # A genuine but stale event: Bolt refuses its signature and logs the request.
    stale = json.dumps(event_callback(app_mention(channel="C0LOG", text=f"{CANARY} stale"))).encode()
    assert post_signed(url, stale, SIGNING_SECRET, timestamp=int(time.time()) - 600)[0] == 401
    malformed = f'{{"type": "event_callback", "event": "{CANARY}"}}'.encode()
    assert post_signed(url, malformed, SIGNING_SECRET)[0] == 400
    fake_slack.wait_for(lambda fake: len(fake.thread_texts("C0LOG", thread)) == 2, timeout=30)
    time.sleep(1)
    bot.stop()

    logged = (tmp_path / "replica-0.log").read_text()
    assert "turn T1:C0LOG" in logged and "DEBUG" in logged  # it did log, at DEBUG
    assert "Invalid request signature" in logged  # the refusal is there, without the body
    assert CANARY not in logged
