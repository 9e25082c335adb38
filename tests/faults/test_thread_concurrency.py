"""Issue 5, concurrency inside a thread: follow-ups that arrive while the bot is still answering
are all answered, in order, once each, each with the history that existed when it was asked
(the earlier questions and the answers to them), never with a later message."""

from __future__ import annotations

import threading
from typing import Any

from bot.core.records import sort_key
from bot.core.serial import SessionQueue
from tests.fakes.bedrock import content_text
from tests.faults.events import CHANNEL, mention, reply, ts_of


def answer_to_last_question(body: dict[str, Any]) -> str:
    last = content_text(body["messages"][-1]["content"])
    return f"answer to [{last.splitlines()[-1]}]"


def conversation_sent(request) -> list[tuple[str, str]]:
    return [(m["role"], content_text(m["content"])) for m in request.messages]


def test_two_follow_ups_during_an_answer_are_answered_in_order_with_their_history(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = answer_to_last_question
    fake_bedrock.latency = 0.6
    first = mention("one")
    thread = ts_of(first)
    bot.post(first)
    fake_bedrock.wait_for_requests(1)  # the bot is answering "one"
    bot.post(reply("two", thread_ts=thread))
    bot.post(mention("three", thread_ts=thread))
    bot.drain()

    requests = fake_bedrock.requests
    assert [conversation_sent(r) for r in requests] == [
        [("user", "one")],
        [("user", "one"), ("assistant", "answer to [one]"), ("user", "two")],
        [("user", "one"), ("assistant", "answer to [one]"), ("user", "two"),
         ("assistant", "answer to [two]"), ("user", "three")],
    ]
    assert fake_slack.thread_texts(CHANNEL, thread) == [
        "answer to [one]", "answer to [two]", "answer to [three]",
    ]
    stored = bot.deps.store.all(f"T1:{CHANNEL}:{thread}")
    assert [m.text for m in stored] == [
        "one", "answer to [one]", "two", "answer to [two]", "three", "answer to [three]",
    ]


def test_a_burst_of_follow_ups_from_several_people_loses_and_doubles_nothing(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = answer_to_last_question
    fake_bedrock.latency = 0.2
    first = mention("start")
    thread = ts_of(first)
    bot.post(first)
    fake_bedrock.wait_for_requests(1)
    follow_ups = [reply(f"q{n}", thread_ts=thread, user=("U_ANA", "U_BO")[n % 2])
                  for n in range(5)]
    for event in follow_ups:
        bot.post(event)
    for event in follow_ups[:2]:  # Slack retries two of them while the bot is busy
        bot.post(event, retry_num=1, retry_reason="http_timeout")
    bot.drain()

    assert len(fake_bedrock.requests) == 6
    shown = fake_slack.thread_texts(CHANNEL, thread)
    assert len(shown) == 6 and len(set(shown)) == 6
    stored = bot.deps.store.all(f"T1:{CHANNEL}:{thread}")
    assert [m.role for m in stored] == ["human", "ai"] * 6
    for question, answer in zip(stored[::2], stored[1::2], strict=True):
        assert answer.text.endswith(f"{question.text}]")  # "answer to [User U_BO: q1]"


def test_waiting_turns_run_in_message_order_not_arrival_order():
    # The rule behind the test above, without timing: "two" reaches the queue after "three".
    queue = SessionQueue()
    ran: list[str] = []
    arrived = threading.Semaphore(0)

    def turn(name: str) -> None:
        arrived.release()
        with queue.turn("T1:C1:1.0", order=sort_key(name)):
            ran.append(name)

    with queue.turn("T1:C1:1.0", order=sort_key("1700000001.000001")):
        later = threading.Thread(target=turn, args=("1700000003.000001",))
        later.start()
        arrived.acquire()
        earlier = threading.Thread(target=turn, args=("1700000002.000001",))
        earlier.start()
        arrived.acquire()
        while len(queue._sessions["T1:C1:1.0"].waiting) < 2:
            threading.Event().wait(0.01)
    later.join(5)
    earlier.join(5)
    assert ran == ["1700000002.000001", "1700000003.000001"]
