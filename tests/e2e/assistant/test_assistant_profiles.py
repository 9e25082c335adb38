"""Per-channel profiles and the assistant pane: a thread opened while viewing a channel (the
assistant_thread_started context's channel_id) follows that channel's profile, though it lives
in the person's DM with the bot; checked in what the fake Bedrock was sent."""

from __future__ import annotations

from bot import messages as say
from tests.e2e.channels.test_profiles import (
    FUN,
    LEGAL,
    OTHER,
    assert_each_channels_profile,
    profiles_file,
)
from tests.e2e.conftest import DM, dm_in_thread
from tests.fakes.signing import assistant_thread_started, event_callback

PANES = {LEGAL: "1700000100.000100", FUN: "1700000200.000100", OTHER: "1700000300.000100"}


def open_pane(fake_slack, bot, *, thread_ts: str, context_channel: str | None,
              user: str = "U_ANA") -> None:
    # What Slack itself puts in a new assistant thread: a root message of subtype
    # assistant_app_thread, written as the user, that holds the thread's title.
    fake_slack.seed_thread(DM, thread_ts, [
        {"user": user, "subtype": "assistant_app_thread", "text": "Chats from 2024-09-28",
         "assistant_app_thread": {"title": "Chats from 2024-09-28"}},
    ])
    event = assistant_thread_started(user=user, channel=DM, thread_ts=thread_ts,
                                     context_channel=context_channel)
    status, _ = bot.post(event_callback(event))
    assert status == 200
    bot.drain()


def ask(bot, text: str, *, thread_ts: str, ts: str, user: str = "U_ANA") -> None:
    status, _ = bot.post(dm_in_thread(ts, text, thread_ts=thread_ts, user=user))
    assert status == 200
    bot.drain()


def test_a_pane_thread_follows_the_profile_of_the_channel_it_was_opened_from(
        start_bot, fake_slack, fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path), model_temperature=0.5)
    for number, (channel, pane) in enumerate(PANES.items(), start=1):
        open_pane(fake_slack, bot, thread_ts=pane, context_channel=channel)
        ask(bot, f"hello from {channel}", thread_ts=pane, ts=f"17000000{number}0.000200")

    assert len(fake_bedrock.requests) == 3
    sent = {next(c for c in PANES if f"hello from {c}" in fake_bedrock.all_text_sent(r)): r
            for r in fake_bedrock.requests}
    assert sorted(sent) == sorted(PANES)
    assert_each_channels_profile(sent)
    for pane in PANES.values():
        assert len(fake_slack.thread_texts(DM, pane)) == 2  # the greeting, the answer


def test_a_follow_up_in_the_pane_keeps_the_channels_profile(start_bot, fake_slack, fake_bedrock,
                                                            tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path))
    pane = PANES[LEGAL]
    open_pane(fake_slack, bot, thread_ts=pane, context_channel=LEGAL)
    ask(bot, "first question", thread_ts=pane, ts="1700000101.000100")
    ask(bot, "second question", thread_ts=pane, ts="1700000102.000100")

    assert [(r.model_id, r.system_text) for r in fake_bedrock.requests] == [
        ("us.anthropic.claude-opus-4-1", "You answer legal questions."),
    ] * 2


def test_a_pane_opened_without_a_channel_gets_the_defaults(start_bot, fake_slack, fake_bedrock,
                                                          tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path), model_temperature=0.5)
    open_pane(fake_slack, bot, thread_ts=PANES[OTHER], context_channel=None)
    ask(bot, "hello", thread_ts=PANES[OTHER], ts="1700000301.000100")

    request = fake_bedrock.last_request
    assert len(fake_bedrock.requests) == 1
    assert request.model_id == "us.anthropic.claude-sonnet-4-6"
    assert request.system_text == "You are a test bot."
    assert request.body["inferenceConfig"]["temperature"] == 0.2


def test_a_pane_opened_from_a_channel_follows_its_profile_without_a_greeting(
        start_bot, fake_slack, fake_bedrock, tmp_path):
    # ASSISTANT_GREETING="" leaves no bot message in the thread to hold its context.
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path), assistant_greeting="")
    pane = PANES[LEGAL]
    open_pane(fake_slack, bot, thread_ts=pane, context_channel=LEGAL)
    ask(bot, "hello from legal", thread_ts=pane, ts="1700000101.000100")

    assert [(r.model_id, r.system_text) for r in fake_bedrock.requests] == [
        ("us.anthropic.claude-opus-4-1", "You answer legal questions."),
    ]


def test_the_channels_allowlist_applies_in_a_pane_opened_from_it(start_bot, fake_slack,
                                                                fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path))
    open_pane(fake_slack, bot, thread_ts=PANES[LEGAL], context_channel=LEGAL, user="U_BO")
    ask(bot, "may I?", thread_ts=PANES[LEGAL], ts="1700000101.000100", user="U_BO")

    assert fake_bedrock.requests == []
    assert [(e["channel"], e["thread_ts"], e["user"], e["text"])
            for e in fake_slack.ephemeral_messages] == [(DM, PANES[LEGAL], "U_BO", say.NOT_ALLOWED)]
    assert fake_slack.calls_to("chat.startStream") == []

    # The same person, in a pane opened from a channel whose profile has no allowlist.
    open_pane(fake_slack, bot, thread_ts=PANES[FUN], context_channel=FUN, user="U_BO")
    ask(bot, "may I?", thread_ts=PANES[FUN], ts="1700000201.000100", user="U_BO")
    assert len(fake_bedrock.requests) == 1
    assert fake_bedrock.last_request.system_text == "You are playful."
    assert len(fake_slack.ephemeral_messages) == 1
