"""Joining a thread mid-way and trimming long threads, end to end: signed events into the real
app, the fake Slack Web API, the real ChatBedrockConverse against the fake Bedrock, DynamoDB
Local underneath."""

from __future__ import annotations

from bot.core.summary import INSTRUCTIONS
from tests.fakes.bedrock import validation_problem
from tests.support.thread_events import CHANNEL, mention, reply, session_id

THREAD = "1700000100.000100"
NOTE = "I can see the last"


def seed_earlier_messages(fake_slack, count: int, *, words: int = 3) -> list[str]:
    texts = [f"earlier message {index} " + " ".join(["lorem"] * words) for index in range(count)]
    users = ["U_ANA", "U_BO", "U_CY"]
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": users[index % 3], "text": text} for index, text in enumerate(texts)
    ])
    return texts


def test_first_mention_mid_thread_reads_the_thread_once(bot, fake_slack, fake_bedrock):
    earlier = seed_earlier_messages(fake_slack, 250)  # more than one page of 200

    bot.post(mention("1700000500.000100", "what did we decide?", thread_ts=THREAD))
    bot.drain()
    bot.post(reply("1700000600.000100", "and who said it?", thread_ts=THREAD))
    bot.drain()
    bot.post(reply("1700000700.000100", "thanks", thread_ts=THREAD, user="U_BO"))
    bot.drain()

    reads = fake_slack.calls_to("conversations.replies")
    assert all(call.ok and call.params["ts"] == THREAD for call in reads)
    # One read of the thread: a first page without cursor, then the page its cursor points to.
    assert [bool(call.params.get("cursor")) for call in reads] == [False, True]
    assert reads[1].params["cursor"] == reads[0].response["response_metadata"]["next_cursor"]
    assert reads[1].response["has_more"] is False

    assert len(fake_bedrock.requests) == 3
    first = fake_bedrock.requests[0]
    assert validation_problem(first.body) is None
    sent = fake_bedrock.all_text_sent(first)
    assert all(text in sent for text in earlier)
    assert sent.index(earlier[0]) < sent.index(earlier[249]) < sent.index("what did we decide?")
    later = fake_bedrock.all_text_sent(fake_bedrock.requests[2])
    assert earlier[0] in later and "and who said it?" in later
    assert len(fake_slack.thread_texts(CHANNEL, THREAD)) == 3


def test_trimmed_history_is_said_once_in_the_reply_and_never_stored(
    start_bot, fake_slack, fake_bedrock
):
    bot = start_bot(context_token_budget=1000)
    earlier = seed_earlier_messages(fake_slack, 40, words=80)  # about 4,000 tokens
    fake_bedrock.reply = "Here is my answer."

    bot.post(mention("1700000500.000100", "summarize please", thread_ts=THREAD))
    bot.drain()
    bot.post(reply("1700000600.000100", "and the first point?", thread_ts=THREAD))
    bot.drain()

    # What does not fit is summarised (in requests of its own), not sent in full.
    summaries = [r for r in fake_bedrock.requests if r.system_text == INSTRUCTIONS]
    answers = [r for r in fake_bedrock.requests if r.system_text != INSTRUCTIONS]
    assert summaries and earlier[0] in fake_bedrock.all_text_sent(summaries[0])
    assert len(answers) == 2
    for request in answers:
        assert validation_problem(request.body) is None
        assert request.messages[0]["role"] == "user"
        sent = fake_bedrock.all_text_sent(request)
        assert earlier[0] not in sent and earlier[-1] in sent
    second_roles = [m["role"] for m in answers[1].messages]
    assert second_roles[-3:] == ["user", "assistant", "user"]

    replies = fake_slack.thread_texts(CHANNEL, THREAD)
    assert len(replies) == 2
    for text in replies:
        assert text.startswith("Here is my answer.")
        assert text.count(NOTE) == 1

    answers = [m for m in bot.deps.store.all(session_id(THREAD)) if m.role == "ai"]
    assert [m.text for m in answers] == ["Here is my answer."] * 2
