"""A forget that lasts (a thread, or one person everywhere), and only real turns replayed: the
bot's own notices are never read back as its answers."""

from __future__ import annotations

import time

from bot import messages as say
from bot.slack.metadata import GREETING_EVENT_TYPE, NOTICE_EVENT_TYPE
from tests.support.events import CHANNEL, mention

THREAD = "1700000100.000100"


def session(thread: str = THREAD) -> str:
    return f"T1:{CHANNEL}:{thread}"


def now_ts(offset: float = 0.0) -> str:
    return f"{time.time() + offset:.6f}"


def test_after_a_forget_the_next_mention_sees_only_what_was_written_after_it(
    bot, fake_slack, fake_bedrock
):
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": "old secret plan"},
        {"user": "U_BO", "text": "old detail"},
    ])
    bot.post(mention("summarise please", thread_ts=THREAD, ts="1700000200.000100"))
    bot.drain()
    assert "old secret plan" in fake_bedrock.all_text_sent(fake_bedrock.requests[0])

    assert bot.deps.store.forget(session()) == 4
    later = now_ts(1)
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": "old secret plan"},
        {"user": "U_BO", "text": "old detail"},
        {"user": "U_CY", "text": "a fresh start", "ts": later},
    ])
    bot.post(mention("what do you know?", thread_ts=THREAD, ts=now_ts(2)))
    bot.drain()

    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "a fresh start" in sent and "what do you know?" in sent
    assert "old secret plan" not in sent and "old detail" not in sent
    stored = " ".join(m.text for m in bot.deps.store.all(session()))
    assert "old" not in stored


def test_an_answer_being_written_during_a_forget_is_not_stored(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = "a long answer " * 20
    fake_bedrock.chunk_chars, fake_bedrock.tokens_per_second = 20, 20
    event = mention("tell me everything")
    bot.post(event)
    fake_bedrock.wait_for_requests(1)
    thread = event["event"]["ts"]
    fake_slack.wait_for("chat.startStream")
    bot.deps.store.forget(session(thread))
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, thread)  # the person saw the answer
    assert bot.deps.store.all(session(thread)) == []  # memory did not take it back


def test_forgetting_a_person_lasts_across_threads_and_backfill(bot, fake_slack, fake_bedrock):
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_BOB", "text": "Bob's old phone number is 555-0100"},
        {"user": "U_ANA", "text": "noted"},
    ])
    bot.post(mention("hi", thread_ts=THREAD, ts="1700000200.000100"))
    bot.drain()
    report = bot.deps.store.forget_author("U_BOB")
    assert report.messages == 1

    other = "1700000300.000100"
    fake_slack.seed_thread(CHANNEL, other, [
        {"user": "U_BOB", "text": "Bob's old address is 1 Main St"},
        {"user": "U_BOB", "text": "Bob, later: hello again", "ts": now_ts(1)},
    ])
    bot.post(mention("anything about Bob?", thread_ts=THREAD, ts=now_ts(2)))
    bot.post(mention("and here?", thread_ts=other, ts=now_ts(3)))
    bot.drain()

    first, second = fake_bedrock.requests[1:]
    assert "555-0100" not in fake_bedrock.all_text_sent(first)
    assert "noted" in fake_bedrock.all_text_sent(first)
    sent = fake_bedrock.all_text_sent(second)
    assert "1 Main St" not in sent and "Bob, later: hello again" in sent


def test_the_bots_notices_and_greetings_are_never_read_back_as_answers(
    bot, fake_slack, fake_bedrock
):
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": "first question"},
        {"user": "U_BOT", "text": "", "bot_id": "B_BOT",
         "blocks": [{"type": "markdown", "text": "the real answer\n\n_"
                     + say.context_note(3) + "_"}]},
        {"user": "U_BOT", "bot_id": "B_BOT", "text": say.MODEL_BUSY,
         "metadata": {"event_type": NOTICE_EVENT_TYPE, "event_payload": {}}},
        {"user": "U_BOT", "bot_id": "B_BOT", "text": "Hi! Ask me anything.",
         "metadata": {"event_type": GREETING_EVENT_TYPE, "event_payload": {}}},
        {"user": "U_ANA", "text": "second question"},
        {"user": "U_BOT", "bot_id": "B_BOT", "text": "partial words\n\n" + say.MODEL_FAILED},
    ])
    bot.post(mention("go on", thread_ts=THREAD, ts="1700000900.000100"))
    bot.drain()

    (request,) = fake_bedrock.requests
    assert [(m["role"], m["content"][0]["text"]) for m in request.messages] == [
        ("user", "first question"),
        ("assistant", "the real answer"),
        ("user", "second question"),
        ("assistant", "partial words"),
        ("user", "go on"),
    ]


def test_refusals_and_error_lines_are_posted_marked(bot, fake_slack, fake_bedrock):
    fake_bedrock.fail_next("access_denied")
    bot.post(mention("hello"))
    bot.drain()
    (posted,) = fake_slack.calls_to("chat.postMessage")
    assert posted.params["metadata"]["event_type"] == NOTICE_EVENT_TYPE
