"""Order within a thread, and reading a thread the bot joins, when Slack fails at the HTTP level:
never silence, never a lost read."""

from __future__ import annotations

import time
from typing import Any

import pytest

from bot import messages as say
from bot.core.conversation import ThreadUnreadable
from bot.core.records import SessionKey
from bot.slack.backfill import SlackThread
from bot.slack.client import make_web_client
from bot.slack.users import UserNames
from tests.fakes.bedrock import content_text
from tests.support.events import CHANNEL, mention, reply, ts_of

THREAD = "1700000100.000100"


class SlowQueries:
    """Delays the store's membership checks (DynamoDB Query with Limit 10) at the HTTP layer."""

    def __init__(self, client: Any, seconds: float) -> None:
        self.client, self.seconds = client, seconds

    def __enter__(self) -> SlowQueries:
        self.client.meta.events.register("before-send.dynamodb.Query", self._delay)
        return self

    def __exit__(self, *_: object) -> None:
        self.client.meta.events.unregister("before-send.dynamodb.Query", self._delay)

    def _delay(self, request: Any, **_: object) -> None:
        if b'"Limit": 10' in (request.body or b""):
            time.sleep(self.seconds)


def test_a_message_that_arrived_first_is_in_the_prompt_of_the_next(bot, fake_slack, fake_bedrock):
    first = mention("start")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    with SlowQueries(bot.deps.store.client, 0.3):
        # Bo's follow-up must be checked against the store (is the bot in this thread?); Ana's
        # mention a millisecond later need not be, and used to read the history first.
        bot.post(reply("the code name is TAPIR", thread_ts=thread, user="U_BO"))
        bot.post(mention("what did Bo just say?", thread_ts=thread))
        bot.drain()

    last = fake_bedrock.requests[-1]
    assert "TAPIR" in fake_bedrock.all_text_sent(last)
    assert content_text(last.messages[-1]["content"]).endswith("what did Bo just say?")
    user_turn = content_text(last.messages[-1]["content"])
    assert user_turn.index("TAPIR") < user_turn.index("what did Bo just say?")
    # Both came while "start" was being answered: one answer sees them both, in order.
    assert len(fake_slack.thread_texts(CHANNEL, thread)) == 2


def seed(fake_slack) -> None:
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_BO", "text": "we ship on Friday"},
        {"user": "U_CY", "text": "the code name is TAPIR"},
    ])


FAULTS = [
    pytest.param(dict(error="connection_reset", times=3), id="connection reset"),
    pytest.param(dict(error="timeout", times=1), id="timeout"),  # not retried by slack_sdk
    pytest.param(dict(error="internal_error", status=500, times=2), id="HTTP 500"),
    pytest.param(dict(error="ratelimited", retry_after=0, times=3), id="ratelimited"),
    pytest.param(dict(error="not_in_channel", times=1), id="refused"),
]


@pytest.mark.parametrize("fault", FAULTS)
def test_a_failed_read_of_the_thread_still_answers_and_is_tried_again(
    start_bot, fake_slack, fake_bedrock, fault
):
    bot = start_bot(slack_timeout_seconds=0.3)
    fake_slack.hang_seconds = 1.0
    seed(fake_slack)
    fake_slack.fail_next("conversations.replies", **fault)

    bot.post(mention("what is the code name?", thread_ts=THREAD, ts="1700000500.000100"))
    bot.drain()
    first = fake_slack.thread_texts(CHANNEL, THREAD)
    assert len(first) == 1 and say.THREAD_UNREAD in first[0]
    assert "TAPIR" not in fake_bedrock.all_text_sent(fake_bedrock.requests[0])
    statuses = fake_slack.calls_to("assistant.threads.setStatus")
    assert statuses[0].params["status"]  # shown, then replaced by the answer

    bot.post(reply("and when do we ship?", thread_ts=THREAD, ts="1700000600.000100"))
    bot.drain()
    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "TAPIR" in sent and "we ship on Friday" in sent
    assert sent.index("TAPIR") < sent.index("what is the code name?")
    assert say.THREAD_UNREAD not in fake_slack.thread_texts(CHANNEL, THREAD)[1]
    bot.post(reply("thanks", thread_ts=THREAD, ts="1700000700.000100"))
    bot.drain()
    reads = [c for c in fake_slack.calls_to("conversations.replies") if c.ok]
    assert len(reads) == 1  # read once it worked, never again


def test_names_fall_back_to_ids_when_lookups_fail(bot, fake_slack, fake_bedrock):
    seed(fake_slack)
    fake_slack.fail_next("users.info", "connection_reset", times=100)
    bot.post(mention("who said what?", thread_ts=THREAD, ts="1700000500.000100"))
    bot.drain()
    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[0])
    assert "U_BO: we ship on Friday" in sent and "U_CY: the code name is TAPIR" in sent
    assert len(fake_slack.thread_texts(CHANNEL, THREAD)) == 1


def test_a_dns_failure_makes_the_thread_unreadable_not_an_exception():
    client = make_web_client("xoxb-test", "http://no-such-host.invalid/api/", timeout=2)
    thread = SlackThread(client, bot_user_id="U_BOT", names=UserNames(client))
    with pytest.raises(ThreadUnreadable, match="conversations_replies failed"):
        thread.earlier_messages(SessionKey("T1", CHANNEL, THREAD), before_ts="1800000000.0",
                                after_ts="")
