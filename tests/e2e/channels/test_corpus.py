"""The corpus end to end: each message as a live DM and as history read from a thread the bot
joins, through the real app, DynamoDB Local and the real ChatBedrockConverse; what the fake
Bedrock records is exactly what Claude was sent."""

from __future__ import annotations

from decimal import Decimal

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
