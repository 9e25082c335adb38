"""Issue 5, store faults: DynamoDB goes away or throttles during a turn.

The user gets one friendly line and the log says why; no turn is left half-written (an
answer whose question is missing, or a posted answer the store never learns); other threads
keep being served, and the bot recovers by itself when the store returns.
"""

from __future__ import annotations

import json
import logging

from bot import messages as say
from bot.store.table import create_table
from tests.e2e.conftest import FailingRequests, leaks_in
from tests.support.events import CHANNEL, mention, reply, ts_of


def roles(bot, thread: str, team: str = "T1") -> list[tuple[str, str]]:
    return [(m.role, m.text) for m in bot.deps.store.all(f"{team}:{CHANNEL}:{thread}")]


def test_a_store_outage_before_the_turn_ends_in_a_friendly_message_and_a_logged_cause(
    bot, fake_slack, fake_bedrock, dynamodb_local, dynamodb_client, table_name, caplog
):
    caplog.set_level(logging.INFO)
    dynamodb_local.stop()
    event = mention("are you there?")
    assert bot.post(event)[0] == 200
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, ts_of(event)) == [say.STORE_DOWN]
    assert fake_bedrock.requests == []  # nothing is answered that could not be remembered
    assert leaks_in(fake_slack) == []
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert any("store unavailable" in line and "cannot connect" in line for line in errors)

    # DynamoDB Local comes back empty (it runs in memory): the bot recovers with no restart.
    dynamodb_local.start()
    create_table(dynamodb_client, table_name)
    later = mention("and now?")
    bot.post(later)
    bot.drain()
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(later))) == 1
    assert [role for role, _ in roles(bot, ts_of(later))] == ["human", "ai"]


def test_the_store_going_away_while_the_model_answers_never_loses_the_answer(
    bot, fake_slack, fake_bedrock, dynamodb_local, caplog
):
    caplog.set_level(logging.INFO)
    fake_bedrock.latency = 0.5
    fake_bedrock.reply = "Posted, not yet stored."
    event = mention("question one")
    bot.post(event)
    fake_bedrock.wait_for_requests(1)  # the question is stored, the model is answering
    dynamodb_local.stop()
    bot.drain()

    thread = ts_of(event)
    assert fake_slack.thread_texts(CHANNEL, thread) == [
        "Posted, not yet stored.", say.ANSWER_NOT_SAVED,
    ]
    assert any("could not be stored" in r.getMessage() for r in caplog.records)
    assert leaks_in(fake_slack) == []


def test_a_posted_answer_the_store_refused_is_written_at_the_threads_next_turn(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = lambda body: f"answer #{len(body['messages'])}"
    event = mention("my name is Lee")
    thread = ts_of(event)
    answers = lambda _op, body: '"Role": {"S": "ai"}' in body  # noqa: E731
    with FailingRequests(bot.deps.store.client, answers) as fault:
        bot.post(event)
        bot.drain()
    assert fault.failed >= 2
    assert fake_slack.thread_texts(CHANNEL, thread) == ["answer #1", say.ANSWER_NOT_SAVED]
    assert [role for role, _ in roles(bot, thread)] == ["human"]

    bot.post(reply("what is my name?", thread_ts=thread))
    bot.drain()
    assert roles(bot, thread) == [
        ("human", "my name is Lee"), ("ai", "answer #1"),
        ("human", "what is my name?"), ("ai", "answer #3"),
    ]
    assert "answer #1" in fake_bedrock.all_text_sent(fake_bedrock.last_request)


def test_a_throttled_thread_gets_a_friendly_message_while_other_threads_are_served(
    bot, fake_slack, fake_bedrock, table_items, caplog
):
    caplog.set_level(logging.INFO)
    hot = mention("on a throttled partition")
    session = f"T1:{CHANNEL}:{ts_of(hot)}"
    on_hot_partition = lambda _op, body: json.dumps(session)[1:-1] in body  # noqa: E731
    others = [mention(f"elsewhere {n}") for n in range(3)]
    with FailingRequests(bot.deps.store.client, on_hot_partition) as fault:
        bot.post(hot)
        for event in others:
            bot.post(event)
        bot.drain()

    assert fault.failed > 0
    assert fake_slack.thread_texts(CHANNEL, ts_of(hot)) == [say.STORE_DOWN]
    assert all(len(fake_slack.thread_texts(CHANNEL, ts_of(e))) == 1 for e in others)
    assert roles(bot, ts_of(hot)) == []  # no half-written turn
    messages, _ = table_items()
    assert len(messages) == 2 * len(others)
    assert any("throttled" in r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR)

    # The partition cools down: the same thread is answered again, with no restart.
    bot.post(reply("still there?", thread_ts=ts_of(hot)))
    bot.post(mention("still there?", thread_ts=ts_of(hot)))
    bot.drain()
    assert fake_slack.thread_texts(CHANNEL, ts_of(hot))[-1] != say.STORE_DOWN
