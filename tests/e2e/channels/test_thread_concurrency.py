"""Issue 5, concurrency inside a thread: follow-ups that arrive while the bot is still answering
are all answered, in order, once each, each with the history that existed when it was asked
(the earlier questions and the answers to them), never with a later message."""

from __future__ import annotations

import threading
from typing import Any

from bot.core.serial import SessionQueue
from tests.fakes.bedrock import content_text
from tests.support.events import CHANNEL, mention, reply, ts_of


def answer_to_last_question(body: dict[str, Any]) -> str:
    last = content_text(body["messages"][-1]["content"])
    return f"answer to [{last.splitlines()[-1]}]"


def conversation_sent(request) -> list[tuple[str, str]]:
    return [(m["role"], content_text(m["content"])) for m in request.messages]


def test_follow_ups_during_an_answer_are_answered_together_in_the_next_turn(
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
        [("user", "one"), ("assistant", "answer to [one]"), ("user", "two\n\nthree")],
    ]
    assert fake_slack.thread_texts(CHANNEL, thread) == ["answer to [one]", "answer to [three]"]
    stored = bot.deps.store.all(f"T1:{CHANNEL}:{thread}")
    assert [m.text for m in stored] == ["one", "answer to [one]", "two", "three", "answer to [three]"]


def test_a_flood_of_follow_ups_is_answered_in_a_few_turns_and_loses_and_doubles_nothing(
    bot, fake_slack, fake_bedrock
):
    fake_bedrock.reply = answer_to_last_question
    fake_bedrock.latency = 0.3
    first = mention("start")
    thread = ts_of(first)
    bot.post(first)
    fake_bedrock.wait_for_requests(1)
    follow_ups = [reply(f"q{n}", thread_ts=thread, user=("U_ANA", "U_BO")[n % 2])
                  for n in range(40)]
    for event in follow_ups:
        bot.post(event)
    for event in follow_ups[:5]:  # Slack retries some of them while the bot is busy
        bot.post(event, retry_num=1, retry_reason="http_timeout")
    other = mention("meanwhile, elsewhere")
    bot.post(other)
    bot.drain()

    thread_requests = [r for r in fake_bedrock.requests if "start" in fake_bedrock.all_text_sent(r)]
    assert 2 <= len(thread_requests) <= 4  # a handful of turns, not forty
    last = fake_bedrock.all_text_sent(thread_requests[-1])
    assert all(f"q{n}" in last for n in range(40))
    stored = bot.deps.store.all(f"T1:{CHANNEL}:{thread}")
    questions = [m.text for m in stored if m.role == "human"]
    assert len(questions) == len(set(questions)) == 41  # every follow-up, once
    assert fake_slack.thread_texts(CHANNEL, ts_of(other)) == ["answer to [meanwhile, elsewhere]"]


def test_intakes_run_in_arrival_order_and_answers_are_folded():
    queue = SessionQueue()
    taken: list[str] = []
    answered: list[tuple[str, list[str]]] = []
    started, release = threading.Event(), threading.Event()

    class Reply:
        def __init__(self, order: str) -> None:
            self.order = order

        def run(self, folded):
            answered.append((self.order, [f.order for f in folded]))
            if self.order == "a":
                started.set()
                release.wait(5)

    def intake(name: str):
        def take() -> Reply:
            taken.append(name)
            return Reply(name)
        return take

    # "b" reached the bot before "c" but its work starts later: it is still taken in first.
    first = threading.Thread(target=queue.handle, args=("T:C:1", intake("a")), kwargs={"order": "a"})
    first.start()
    started.wait(5)  # "a" is being answered
    b, c = queue.reserve("T:C:1", order="b"), queue.reserve("T:C:1", order="c")
    done_c = threading.Event()
    threading.Thread(target=lambda: (queue.handle("T:C:1", intake("c"), reservation=c),
                                     done_c.set())).start()
    queue.handle("T:C:1", intake("b"), reservation=b)  # returns at once: the thread is busy
    release.set()
    first.join(5)
    done_c.wait(5)
    assert taken == ["a", "b", "c"]
    assert answered == [("a", []), ("c", ["b"])]  # b and c in one answer
