"""The corpus end to end: each message as a live DM and as history read from a thread the bot
joins, through the real app, DynamoDB Local and the real ChatBedrockConverse; what the fake
Bedrock records is exactly what Claude was sent."""

from __future__ import annotations

from decimal import Decimal

from bot.core.summary import INSTRUCTIONS
from tests.fakes.bedrock import content_text
from tests.support.corpus import CORPUS, NAMES
from tests.support.events import dm, mention

CHANNEL = "C0CHANNEL"
THREAD = "1700000100.000100"


def seed_people(fake_slack) -> None:
    for user_id, name in NAMES.items():
        fake_slack.seed_user(user_id, display_name=name, real_name=name)


def test_each_message_sent_live_reaches_claude_exactly(bot, fake_slack, fake_bedrock):
    seed_people(fake_slack)
    for case in CORPUS:
        bot.post(dm(case.text, blocks=case.blocks))
        bot.drain()

    sent = [content_text(request.messages[-1]["content"]) for request in fake_bedrock.requests]
    assert sent == [case.expected for case in CORPUS]


def test_each_message_read_from_the_thread_reaches_claude_exactly(bot, fake_slack, fake_bedrock):
    seed_people(fake_slack)
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": case.text, "blocks": case.blocks,
         "ts": f"{Decimal(THREAD) + index:.6f}"}
        for index, case in enumerate(CORPUS)
    ])

    bot.post(mention("go on", thread_ts=THREAD, ts="1700009999.000100"))
    bot.drain()

    (request,) = fake_bedrock.requests
    # One person wrote everything: a single user turn, the messages in order, nothing added.
    assert [m["role"] for m in request.messages] == ["user"]
    assert content_text(request.messages[0]["content"]) == "\n\n".join(
        [case.expected for case in CORPUS] + ["go on"]
    )


def test_each_message_that_leaves_the_window_reaches_its_summary_exactly(
    start_bot, fake_slack, fake_bedrock
):
    """The corpus read from a thread too long for the budget: the messages that leave the
    window reach the summarising model as written, in order, each once; the rest reach the
    answer's prompt after the summary, and none is lost between the two."""
    seed_people(fake_slack)
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": case.text, "blocks": case.blocks,
         "ts": f"{Decimal(THREAD) + index:.6f}"}
        for index, case in enumerate(CORPUS)
    ])
    fake_bedrock.reply = lambda body: ("SUMMARY." if body["system"][0]["text"] == INSTRUCTIONS
                                       else "An answer.")
    bot = start_bot(context_token_budget=400)

    bot.post(mention("go on", thread_ts=THREAD, ts="1700009999.000100"))
    bot.drain()

    summaries = [r for r in fake_bedrock.requests if r.system_text == INSTRUCTIONS]
    [answer] = [r for r in fake_bedrock.requests if r.system_text != INSTRUCTIONS]
    assert answer.time > summaries[-1].time
    sent = [content_text(r.messages[0]["content"]).split("New messages, oldest first:\n", 1)[1]
            for r in summaries]
    covered = bot.deps.store.recent(f"T1:{CHANNEL}:{THREAD}", token_budget=400).state.summary.count
    assert 0 < covered < len(CORPUS)
    assert "\n\n".join(sent) == "\n\n".join(f"Ana: {case.expected}" for case in CORPUS[:covered])
    assert content_text(answer.messages[0]["content"]) == (
        f"[Summary of the {covered} earlier messages of this thread]\nSUMMARY.\n\n"
        + "\n\n".join([case.expected for case in CORPUS[covered:]] + ["go on"]))
