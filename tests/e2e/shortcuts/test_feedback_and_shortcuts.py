"""Thumbs up/down under an answer, and the "Summarize this thread" message shortcut."""

from __future__ import annotations

import logging

from bot import messages as say
from bot.slack.listeners.feedback import parse_feedback
from bot.slack.listeners.shortcuts import SUMMARIZE_CALLBACK_ID
from tests.e2e.conftest import CHANNEL, interact, mention
from tests.fakes._clock import next_ts
from tests.fakes.signing import block_action, message_shortcut

THREAD = "1700000001.000100"


def test_a_feedback_click_is_acknowledged_and_logged_with_the_session(bot, fake_slack, caplog):
    bot.post(mention(THREAD, "hi"))
    bot.drain()
    answer_ts = fake_slack.thread_messages(CHANNEL, THREAD)[-1].ts
    before = len(fake_slack.calls)
    caplog.set_level(logging.INFO, logger="bot.slack.listeners.feedback")

    for value in ("positive", "negative"):
        click = block_action(action_id="answer_feedback", value=value, channel=CHANNEL, user="U_ANA",
                             message_ts=answer_ts, thread_ts=THREAD, block_id="feedback")
        status, body = interact(bot, click)
        assert (status, body) == (200, "")
    bot.drain()

    logged = [r.getMessage() for r in caplog.records if r.name == "bot.slack.listeners.feedback"]
    assert logged == [
        f"answer feedback {value} on message {answer_ts} in session T1:{CHANNEL}:{THREAD} from U_ANA"
        for value in ("positive", "negative")
    ]
    assert fake_slack.calls[before:] == []  # nothing posted: the buttons show the choice themselves


def test_feedback_payloads_without_a_value_or_message_are_ignored():
    click = block_action(action_id="answer_feedback", value="positive", channel="C1", message_ts="1.000200")
    assert parse_feedback(click) is not None
    assert parse_feedback({**click, "actions": []}) is None
    assert parse_feedback({"type": "block_actions"}) is None


def summarize(bot, *, message_ts: str, thread_ts: str, user: str = "U_CY", response_url: str | None = None):
    payload = message_shortcut(callback_id=SUMMARIZE_CALLBACK_ID, channel=CHANNEL, user=user,
                               message_ts=message_ts, thread_ts=thread_ts, message_text="any")
    if response_url:
        payload["response_url"] = response_url
    status, body = interact(bot, payload)
    assert (status, body) == (200, "")
    bot.drain()


def test_summary_of_a_thread_the_bot_was_never_in(steady_bot, fake_slack, fake_bedrock):
    bot = steady_bot
    fake_slack.seed_thread(CHANNEL, THREAD, [
        {"user": "U_ANA", "text": "Ship on Friday?"},
        {"user": "U_BO", "text": "No, Monday: QA needs a day."},
        {"user": "U_ANA", "text": "OK, Monday it is."},
    ])
    fake_bedrock.reply = "Shipping moved to Monday for QA."
    summarize(bot, message_ts="1700000002.000100", thread_ts=THREAD)

    assert [m for m in fake_slack.methods() if m not in ("auth.test", "users.info")] == [
        "conversations.replies",
        "assistant.threads.setStatus",
        "chat.startStream",
        "chat.stopStream",
    ]
    start = fake_slack.calls_to("chat.startStream")[0].params
    assert (start["channel"], start["thread_ts"], start["recipient_user_id"]) == (CHANNEL, THREAD, "U_CY")
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["Shipping moved to Monday for QA."]
    sent = fake_bedrock.all_text_sent()
    for said in ("Ship on Friday?", "No, Monday: QA needs a day.", "OK, Monday it is.", say.SUMMARY_REQUEST):
        assert said in sent
    # The request is the asker's turn in the thread's memory; it is never posted in Slack.
    stored = bot.deps.store.all(f"T1:{CHANNEL}:{THREAD}")
    assert [(r.role, r.text) for r in stored][-2:] == [
        ("human", say.SUMMARY_REQUEST), ("ai", "Shipping moved to Monday for QA."),
    ]
    assert len(stored) == 5
    assert all(say.SUMMARY_REQUEST not in m.visible_text for m in fake_slack.bot_messages())


def test_summary_of_a_thread_the_bot_is_in_uses_its_memory(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = lambda body: f"reply #{len(body['messages'])}"
    bot.post(mention(THREAD, "Let's pick a name: Aurora?"))
    bot.drain()
    summarize(bot, message_ts=THREAD, thread_ts=THREAD)

    assert fake_slack.calls_to("conversations.replies") == []
    summary_request = fake_bedrock.requests[1]
    assert [m["role"] for m in summary_request.messages] == ["user", "assistant", "user"]
    assert "Aurora" in fake_bedrock.all_text_sent(summary_request)
    assert fake_slack.thread_texts(CHANNEL, THREAD) == ["reply #1", "reply #3"]
    # A follow-up (written after the shortcut was used) sees the summary as an earlier answer.
    bot.post(mention(next_ts(), "shorter please", thread_ts=THREAD))
    bot.drain()
    assert [m["role"] for m in fake_bedrock.last_request.messages] == ["user", "assistant"] * 2 + ["user"]


def test_a_thread_the_bot_cannot_read_is_explained_only_to_the_asker(bot, fake_slack, fake_bedrock, response_url):
    fake_slack.fail_next("conversations.replies", "not_in_channel")
    summarize(bot, message_ts=THREAD, thread_ts=THREAD, response_url=response_url.url)

    assert fake_bedrock.requests == []
    assert fake_slack.bot_messages() == []
    assert response_url.posted == [
        {"text": say.CANNOT_READ_THREAD, "response_type": "ephemeral", "replace_original": False},
    ]


def test_a_guest_from_another_organisation_summarizes_the_same_session(bot, fake_slack, fake_bedrock):
    # Slack Connect: `team` is the workspace of the app that posted, `user.team_id` the clicker's.
    fake_bedrock.reply = lambda body: f"reply #{len(body['messages'])}"
    bot.post(mention(THREAD, "Let's pick a name: Aurora?"))
    bot.drain()
    payload = message_shortcut(callback_id=SUMMARIZE_CALLBACK_ID, channel=CHANNEL, user="W_GUEST",
                               message_ts=THREAD, thread_ts=THREAD, message_text="any")
    payload["user"]["team_id"] = "T_GUEST"
    assert interact(bot, payload) == (200, "")
    bot.drain()

    assert "Aurora" in fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert fake_slack.calls_to("conversations.replies") == []  # memory, not a backfill
    start = fake_slack.calls_to("chat.startStream")[-1].params
    assert (start["recipient_user_id"], start["recipient_team_id"]) == ("W_GUEST", "T_GUEST")
    assert len(bot.deps.store.all(f"T1:{CHANNEL}:{THREAD}")) == 4
