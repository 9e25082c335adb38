"""Per-channel profiles and the "Summarize this thread" message shortcut: a summary of a thread
in a channel with a profile follows that profile (prompt, model, temperature, allowlist), as
the real ChatBedrockConverse sends it to the fake Bedrock."""

from __future__ import annotations

from bot import messages as say
from bot.slack.listeners.shortcuts import SUMMARIZE_CALLBACK_ID
from tests.e2e.channels.test_profiles import (
    FUN,
    LEGAL,
    OTHER,
    assert_each_channels_profile,
    profiles_file,
)
from tests.e2e.conftest import interact
from tests.fakes.signing import message_shortcut

THREAD = "1700000001.000100"


def seed(fake_slack, channel: str) -> None:
    fake_slack.seed_thread(channel, THREAD, [
        {"user": "U_ANA", "text": f"Ship on Friday from {channel}?"},
        {"user": "U_BO", "text": "No, Monday: QA needs a day."},
    ])


def summarize(bot, channel: str, *, user: str = "U_ANA") -> None:
    payload = message_shortcut(callback_id=SUMMARIZE_CALLBACK_ID, channel=channel, user=user,
                               message_ts="1700000002.000100", thread_ts=THREAD,
                               message_text="any")
    assert interact(bot, payload) == (200, "")
    bot.drain()


def test_a_summary_follows_the_profile_of_the_channel_it_is_asked_in(start_bot, fake_slack,
                                                                       fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path), model_temperature=0.5)
    for channel in (LEGAL, FUN, OTHER):
        seed(fake_slack, channel)
        summarize(bot, channel)

    assert len(fake_bedrock.requests) == 3
    sent = {next(c for c in (LEGAL, FUN, OTHER) if f"from {c}?" in fake_bedrock.all_text_sent(r)): r
            for r in fake_bedrock.requests}
    assert sorted(sent) == sorted((LEGAL, FUN, OTHER))
    assert all(say.SUMMARY_REQUEST in fake_bedrock.all_text_sent(r) for r in sent.values())
    assert_each_channels_profile(sent)
    for channel in (LEGAL, FUN, OTHER):
        assert len(fake_slack.thread_texts(channel, THREAD)) == 1


def test_a_summary_is_refused_to_someone_the_channels_allowlist_leaves_out(start_bot, fake_slack,
                                                                           fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path))
    seed(fake_slack, LEGAL)
    seed(fake_slack, FUN)
    summarize(bot, LEGAL, user="U_BO")

    assert fake_bedrock.requests == []
    assert [(e["channel"], e["thread_ts"], e["user"], e["text"])
            for e in fake_slack.ephemeral_messages] == [(LEGAL, THREAD, "U_BO", say.NOT_ALLOWED)]
    assert fake_slack.bot_messages() == []
    assert fake_slack.calls_to("conversations.replies") == []  # refused before reading
    assert bot.deps.store.all(f"T1:{LEGAL}:{THREAD}") == []

    # The same person may summarize in a channel whose profile has no allowlist.
    summarize(bot, FUN, user="U_BO")
    assert len(fake_bedrock.requests) == 1
    assert fake_bedrock.last_request.system_text == "You are playful."
    assert len(fake_slack.ephemeral_messages) == 1
    assert len(fake_slack.thread_texts(FUN, THREAD)) == 1
