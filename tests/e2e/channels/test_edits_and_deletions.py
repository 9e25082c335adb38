"""Edits and deletions are mirrored: the next prompt holds the thread as it is now. Signed events
into the real app, on DynamoDB Local and on SQLite."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.core.records import sort_key
from tests.fakes.signing import event_callback, message_changed, message_deleted
from tests.support.events import CHANNEL, dm, mention, reply, ts_of

SESSION_OF = "T1:{channel}:{thread}"


@pytest.fixture(params=["dynamodb", "sqlite"])
def any_store_bot(request, start_bot, tmp_path: Path):
    if request.param == "sqlite":
        return start_bot(dynamodb_table=None, sqlite_path=tmp_path / "history.sqlite3")
    return start_bot()


def change(event: dict) -> dict:
    return event_callback(event)


def test_an_edit_is_replayed_and_never_answered(any_store_bot, fake_slack, fake_bedrock):
    bot = any_store_bot
    fake_bedrock.reply = "Noted."
    first = mention("the launch is on Monday")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    posted_before = len(fake_slack.bot_messages())

    bot.post(change(message_changed(channel=CHANNEL, ts=thread, user="U_ANA",
                                    text="<@U_BOT> the launch is on Thursday",
                                    previous_text="<@U_BOT> the launch is on Monday")))
    bot.drain()
    assert len(fake_bedrock.requests) == 1  # an edit never triggers an answer
    assert len(fake_slack.bot_messages()) == posted_before

    bot.post(reply("when is the launch?", thread_ts=thread))
    bot.drain()
    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "the launch is on Thursday" in sent and "Monday" not in sent


def test_the_newest_edit_wins_whatever_order_the_events_come_in(bot, fake_slack, fake_bedrock):
    first = mention("plan A")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    newer = message_changed(channel=CHANNEL, ts=thread, user="U_ANA", text="<@U_BOT> plan C",
                            edited_ts="1900000002.000000")
    older = message_changed(channel=CHANNEL, ts=thread, user="U_ANA", text="<@U_BOT> plan B",
                            edited_ts="1900000001.000000")
    bot.post(change(newer))
    bot.post(change(older))
    bot.drain()

    stored = bot.deps.store.all(SESSION_OF.format(channel=CHANNEL, thread=thread))
    assert stored[0].text == "plan C"


def test_a_deleted_message_is_never_sent_again_nor_the_answer_to_it(any_store_bot, fake_bedrock):
    bot = any_store_bot
    first = mention("let's deploy")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    leak = reply("my token is xoxp-1234-SECRET", thread_ts=thread, user="U_BOB")
    bot.post(leak)
    bot.drain()
    assert "xoxp-1234-SECRET" in fake_bedrock.all_text_sent(fake_bedrock.requests[1])

    bot.post(change(message_deleted(channel=CHANNEL, ts=ts_of(leak), thread_ts=thread,
                                    user="U_BOB", text="my token is xoxp-1234-SECRET")))
    bot.drain()
    bot.post(mention("what did Bob paste?", thread_ts=thread))
    bot.drain()

    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[2])
    assert "xoxp-1234-SECRET" not in sent
    assert "Answer to: my token" not in sent  # the answer to it went with it
    stored = bot.deps.store.all(SESSION_OF.format(channel=CHANNEL, thread=thread))
    assert [m.text for m in stored][:2] == ["let's deploy", "Answer to: let's deploy"]
    assert all("xoxp" not in m.text and m.key != sort_key(ts_of(leak)) for m in stored)


def test_a_deleted_thread_root_is_forgotten_and_the_rest_stays(bot, fake_bedrock):
    first = mention("root question")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    bot.post(reply("a reply", thread_ts=thread))
    bot.drain()
    # A root with replies is not removed by Slack: it becomes a tombstone.
    bot.post(change(message_changed(channel=CHANNEL, ts=thread, text="", subtype="tombstone",
                                    thread_ts=thread)))
    bot.drain()
    bot.post(mention("what was asked first?", thread_ts=thread))
    bot.drain()

    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[-1])
    assert "root question" not in sent and "a reply" in sent


def test_an_answer_an_admin_deleted_is_forgotten(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = "the answer is 42"
    first = mention("what is the answer?")
    thread = ts_of(first)
    bot.post(first)
    bot.drain()
    (answer,) = fake_slack.bot_messages()
    fake_bedrock.reply = "ok"
    bot.post(change(message_deleted(channel=CHANNEL, ts=answer.ts, thread_ts=thread,
                                    user="U_BOT", bot_id="B_BOT", text="the answer is 42")))
    bot.drain()
    bot.post(reply("and again?", thread_ts=thread))
    bot.drain()
    assert "the answer is 42" not in fake_bedrock.all_text_sent(fake_bedrock.requests[-1])


def test_edits_and_deletions_of_messages_never_stored_are_ignored(bot, fake_slack, fake_bedrock):
    bot.post(change(message_changed(channel=CHANNEL, ts="1700000001.000100", text="edited",
                                    thread_ts="1700000000.000100")))
    bot.post(change(message_deleted(channel=CHANNEL, ts="1700000002.000100", text="gone")))
    bot.drain()
    assert bot.deps.store.sessions() == []
    assert fake_bedrock.requests == [] and fake_slack.bot_messages() == []


def test_edits_in_an_assistant_thread_reach_memory_too(bot, fake_bedrock):
    fake_bedrock.reply = "Noted."
    # Bolt's Assistant middleware acknowledges these in DM threads and would drop them.
    root = "1700000200.000100"
    question = dm("remind me: the code name is LYNX", thread_ts=root, ts="1700000201.000100")
    bot.post(question)
    bot.drain()
    edit = message_changed(channel="D0DM", ts="1700000201.000100", thread_ts=root, user="U_ANA",
                           text="remind me: the code name is TAPIR")
    bot.post(change(edit))
    bot.drain()
    bot.post(dm("what is the code name?", thread_ts=root))
    bot.drain()
    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[-1])
    assert "TAPIR" in sent and "LYNX" not in sent


BEFORE_THE_BOT = "1700000300.000100"
LAUNCH, TOKEN, CODE_NAME = "1700000301.000100", "1700000302.000100", "1700000303.000100"


def seed_thread_with_history(fake_slack) -> None:
    """A thread written before the bot came: an edit, a deleted reply, the root deleted too
    (seed_thread numbers the replies' ts from the root's)."""
    fake_slack.seed_thread(CHANNEL, BEFORE_THE_BOT, [
        {"subtype": "tombstone", "text": "This message was deleted.", "hidden": True,
         "user": "USLACKBOT"},
        {"user": "U_BO", "text": "the launch is on Monday"},
        {"user": "U_CY", "text": "my token is xoxp-9876-SECRET"},
        {"user": "U_ANA", "text": "the code name is LYNX"},
    ])
    fake_slack.edit_seeded(CHANNEL, LAUNCH, "the launch is on Thursday",
                           edited_ts="1700000310.000100")
    fake_slack.delete_message(CHANNEL, TOKEN)


def test_a_thread_read_at_the_first_mention_is_the_thread_as_it_is_now(
    any_store_bot, fake_slack, fake_bedrock
):
    seed_thread_with_history(fake_slack)
    any_store_bot.post(mention("when is the launch?", thread_ts=BEFORE_THE_BOT))
    any_store_bot.drain()

    assert fake_slack.calls_to("conversations.replies")
    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[0])
    assert "the launch is on Thursday" in sent and "the code name is LYNX" in sent
    assert "Monday" not in sent and "SECRET" not in sent
    assert "This message was deleted." not in sent
    stored = any_store_bot.deps.store.all(SESSION_OF.format(channel=CHANNEL, thread=BEFORE_THE_BOT))
    assert all("SECRET" not in m.text and "deleted" not in m.text for m in stored)


def test_edits_and_deletions_of_messages_read_from_the_thread_are_mirrored(
    any_store_bot, fake_slack, fake_bedrock
):
    bot = any_store_bot
    fake_bedrock.reply = "Noted."  # the fake's default echoes the question, deleted words too
    seed_thread_with_history(fake_slack)
    bot.post(mention("what is the code name?", thread_ts=BEFORE_THE_BOT))
    bot.drain()
    assert "LYNX" in fake_bedrock.all_text_sent(fake_bedrock.requests[0])

    bot.post(change(message_changed(channel=CHANNEL, ts=CODE_NAME, user="U_ANA",
                                    thread_ts=BEFORE_THE_BOT, text="the code name is TAPIR",
                                    previous_text="the code name is LYNX")))
    bot.post(change(message_deleted(channel=CHANNEL, ts=LAUNCH, user="U_BO",
                                    thread_ts=BEFORE_THE_BOT, text="the launch is on Thursday")))
    bot.drain()
    assert len(fake_bedrock.requests) == 1  # neither is answered
    bot.post(reply("and now?", thread_ts=BEFORE_THE_BOT))
    bot.drain()

    sent = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "the code name is TAPIR" in sent and "LYNX" not in sent
    assert "launch" not in sent
    assert len(fake_slack.calls_to("conversations.replies")) == 1  # read once, then mirrored
