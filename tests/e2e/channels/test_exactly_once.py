"""Issue 5, "never twice": each user message gets exactly one answer, however Slack delivers it.

Slack retries an event it thinks failed (X-Slack-Retry-Num 1..3, sometimes while the first
attempt still runs), replicas share one table, and a message that mentions the bot can arrive
as an app_mention and as a message event. The message's own item is its claim (written with
the question, in one request), so exactly one worker answers.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from bot import messages as say
from bot.core.records import StoredMessage, sort_key
from bot.store.dynamodb import DynamoDBMessageStore
from tests.fakes.signing import app_mention, event_callback, message
from tests.support.events import CHANNEL, dm, mention, reply, thread_of, ts_of


def post_together(posts: list[Callable[[], tuple[int, str]]]) -> list[int]:
    """Run every post at the same instant (one thread each); return the HTTP statuses."""
    start = threading.Barrier(len(posts))
    statuses: list[int] = [0] * len(posts)

    def run(index: int) -> None:
        start.wait()
        statuses[index] = posts[index]()[0]

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(posts))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    return statuses


def test_retries_of_an_answered_event_are_acked_and_dropped(bot, fake_slack, fake_bedrock):
    event = mention("what is 2+2?")
    assert bot.post(event)[0] == 200
    bot.drain()
    for retry in (1, 2, 3):
        assert bot.post(event, retry_num=retry, retry_reason="http_timeout")[0] == 200
    bot.drain()

    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1


def test_a_retry_of_an_answered_event_takes_its_status_down_again(bot, fake_slack, fake_bedrock):
    # The status goes up before the claim (it is what people wait for), so a duplicate shows
    # it too; losing the claim must not leave "thinking" under a finished answer.
    event = mention("answered before the retry came")
    bot.post(event)
    bot.drain()
    answered = len(fake_slack.calls_to("assistant.threads.setStatus"))
    bot.post(event, retry_num=1, retry_reason="http_timeout")
    bot.drain()

    after_retry = fake_slack.calls_to("assistant.threads.setStatus")[answered:]
    assert [call.params.get("status") for call in after_retry] == [say.STATUS_THINKING, ""]
    assert {call.params.get("thread_ts") for call in after_retry} == {ts_of(event)}
    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1


def test_retries_while_the_first_attempt_still_works_are_dropped(
    bot, fake_slack, fake_bedrock, table_items
):
    fake_bedrock.latency = 0.5
    event = mention("a slow question")
    bot.post(event)
    fake_bedrock.wait_for_requests(1)  # the first attempt is inside the model call
    statuses = [bot.post(event, retry_num=n, retry_reason="http_timeout")[0] for n in (1, 2, 3)]
    bot.drain()

    assert statuses == [200, 200, 200]
    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1
    messages, claims = table_items()
    assert sorted(item["Role"]["S"] for item in messages) == ["ai", "human"]
    assert {item["ClaimStatus"]["S"] for item in claims} == {"DONE"}


def test_concurrent_duplicate_deliveries_get_one_answer(bot, fake_slack, fake_bedrock):
    event = mention("delivered four times at once")
    retries: list[dict[str, Any]] = [{}, {"retry_num": 1}, {"retry_num": 2}, {"retry_num": 3}]
    statuses = post_together([lambda kw=kw: bot.post(event, **kw) for kw in retries])
    bot.drain()

    assert statuses == [200] * 4
    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1


def test_app_mention_and_message_event_for_one_message_get_one_answer(bot, fake_slack, fake_bedrock):
    # A mention in a DM: Slack may send it as app_mention and as message.im, with different
    # event ids; the second claim key (team, channel, ts) makes them one.
    ts = "1700000100.000100"
    as_mention = event_callback(app_mention(channel="D0DM", user="U_ANA", text="<@U_BOT> hi", ts=ts))
    as_message = dm("<@U_BOT> hi", ts=ts)
    statuses = post_together([lambda: bot.post(as_mention), lambda: bot.post(as_message)])
    bot.drain()

    assert statuses == [200, 200]
    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts("D0DM", ts)) == 1


def test_a_mention_inside_a_thread_delivered_both_ways_at_once_answers_once(
    bot, fake_slack, fake_bedrock
):
    first = mention("start")
    bot.post(first)
    bot.drain()
    thread = ts_of(first)
    ts = "1800000000.000200"
    as_mention = mention("again", ts=ts, thread_ts=thread)
    as_message = reply("<@U_BOT> again", ts=ts, thread_ts=thread)
    post_together([lambda: bot.post(as_mention), lambda: bot.post(as_message),
                   lambda: bot.post(as_mention, retry_num=1)])
    bot.drain()

    assert len(fake_bedrock.requests) == 2
    assert len(fake_slack.thread_texts(CHANNEL, thread)) == 2


def claim_as_another_worker(client: Any, table: str, payload: dict[str, Any], *,
                            seconds_ago: float = 0) -> None:
    """Another worker (another replica) claimed the message `seconds_ago`, and is answering."""
    event = payload["event"]
    session = f"{payload['team_id']}:{event['channel']}:{event.get('thread_ts') or event['ts']}"
    worker = DynamoDBMessageStore(client, table, ttl_seconds=3600,
                                  clock=lambda: time.time() - seconds_ago)
    question = StoredMessage.human(ts=event["ts"], text=event["text"], author_id=event["user"])
    worker.claim(session, sort_key(event["ts"]), message=question)


def test_a_live_workers_claim_blocks_a_retry(bot, fake_bedrock, dynamodb_client, table_name):
    event = mention("someone else is answering this")
    claim_as_another_worker(dynamodb_client, table_name, event)  # IN_PROGRESS, just now

    assert bot.post(event, retry_num=1)[0] == 200
    bot.drain()
    assert fake_bedrock.requests == []


def test_a_dead_workers_claim_is_taken_over_by_a_later_retry(
    bot, fake_slack, fake_bedrock, dynamodb_client, table_name, table_items
):
    event = mention("the first worker died answering this")
    takeover = bot.settings.claim_takeover_seconds
    # IN_PROGRESS since before the takeover timeout:
    claim_as_another_worker(dynamodb_client, table_name, event, seconds_ago=takeover + 60)

    assert bot.post(event, retry_num=2, retry_reason="http_timeout")[0] == 200
    bot.drain()
    assert bot.post(event, retry_num=3, retry_reason="http_timeout")[0] == 200
    bot.drain()

    assert len(fake_bedrock.requests) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1
    _, claims = table_items()
    assert {item["ClaimStatus"]["S"] for item in claims} == {"DONE"}


def test_a_small_takeover_timeout_lets_a_retry_finish_an_abandoned_claim(
    start_bot, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    bot = start_bot(claim_takeover_seconds=10)
    event = mention("abandoned a while ago")
    claim_as_another_worker(dynamodb_client, table_name, event, seconds_ago=11)
    bot.post(event, retry_num=1)
    bot.drain()
    assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1


def test_two_bot_instances_on_one_table_answer_each_event_once(
    start_bot, fake_slack, fake_bedrock, table_items
):
    replicas = [start_bot(), start_bot()]
    events = [mention(f"question {n}") for n in range(8)]
    posts = []
    for event in events:
        for retry, replica in zip((None, 1, 2, 3), replicas * 2, strict=True):
            posts.append(lambda e=event, r=retry, b=replica: b.post(e, retry_num=r))
    statuses = post_together(posts)
    for replica in replicas:
        replica.drain()

    assert set(statuses) == {200}
    assert len(fake_bedrock.requests) == len(events)
    assert [len(fake_slack.thread_texts(CHANNEL, thread_of(e))) for e in events] == [1] * 8
    messages, _ = table_items()
    assert len(messages) == 2 * len(events)


def test_the_same_channel_and_ts_in_two_workspaces_are_two_messages(bot, fake_slack, fake_bedrock):
    # Claim keys carry the team: another workspace's message is never taken for a duplicate.
    ts = "1700000200.000100"
    bot.post(mention("from T1", ts=ts, team="T1"))
    bot.post(mention("from T2", ts=ts, team="T2"))
    bot.drain()
    assert len(fake_bedrock.requests) == 2
    sent = [fake_bedrock.all_text_sent(r) for r in fake_bedrock.requests]
    assert sorted("from T1" in text for text in sent) == [False, True]


def test_an_edit_that_adds_a_mention_is_not_answered_twice(bot, fake_slack, fake_bedrock):
    original = mention("original question")
    bot.post(original)
    bot.drain()
    # Slack sends a fresh app_mention (new event id, same ts) when a mentioning message is edited.
    edited = event_callback(app_mention(channel=CHANNEL, user="U_ANA", ts=ts_of(original),
                                        text="<@U_BOT> original question, edited"))
    bot.post(edited)
    bot.post(event_callback(message(channel=CHANNEL, user="U_ANA", ts=ts_of(original),
                                    text="edited", subtype="message_changed")))
    bot.drain()
    assert len(fake_bedrock.requests) == 1
