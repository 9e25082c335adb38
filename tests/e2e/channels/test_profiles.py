"""Per-channel profiles end to end: two channels with their own prompt, model, temperature and
rules, checked in what the real ChatBedrockConverse sends the fake Bedrock."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot import messages as say
from tests.e2e.channels.test_threads import mention, reply

LEGAL, FUN, OTHER = "C0LEGAL", "C0FUN", "C0OTHER"
PROFILES = """
[defaults]
temperature = 0.2

[channels.C0LEGAL]
system_prompt_file = "prompts/legal.md"
model_id = "us.anthropic.claude-opus-4-1"
allowed_user_ids = ["U_ANA"]
reply_without_mention_in_threads = false

[channels.C0FUN]
system_prompt = "You are playful."
temperature = 0.9
token_budget = 4000
"""


def profiles_file(tmp_path: Path) -> Path:
    (tmp_path / "prompts").mkdir()
    (tmp_path / "prompts" / "legal.md").write_text("You answer legal questions.\n")
    path = tmp_path / "profiles.toml"
    path.write_text(PROFILES)
    return path


def assert_each_channels_profile(sent: dict[str, Any]) -> None:
    """The requests made in LEGAL, FUN and OTHER carry what profiles_file gives each."""
    assert sent[LEGAL].model_id == "us.anthropic.claude-opus-4-1"
    assert sent[LEGAL].system_text == "You answer legal questions."
    assert sent[LEGAL].body["inferenceConfig"]["temperature"] == 0.2
    assert sent[FUN].model_id == "us.anthropic.claude-sonnet-4-6"
    assert sent[FUN].system_text == "You are playful."
    assert sent[FUN].body["inferenceConfig"]["temperature"] == 0.9
    assert sent[OTHER].model_id == "us.anthropic.claude-sonnet-4-6"
    assert sent[OTHER].system_text == "You are a test bot."  # the environment's
    assert sent[OTHER].body["inferenceConfig"]["temperature"] == 0.2  # [defaults]


def test_each_channel_is_answered_with_its_own_profile(start_bot, fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path), model_temperature=0.5)
    for channel, ts in ((LEGAL, "1700000001.000100"), (FUN, "1700000002.000100"),
                        (OTHER, "1700000003.000100")):
        bot.post(mention(ts, f"hello from {channel}", channel=channel))
        bot.drain()

    sent = {next(c for c in (LEGAL, FUN, OTHER) if c in fake_bedrock.all_text_sent(r)): r
            for r in fake_bedrock.requests}
    assert_each_channels_profile(sent)


def test_a_channels_allowlist_and_follow_up_rule_apply_there_only(start_bot, fake_slack,
                                                                  fake_bedrock, tmp_path):
    bot = start_bot(channel_profiles_file=profiles_file(tmp_path))
    bot.post(mention("1700000001.000100", "may I?", channel=LEGAL, user="U_BO"))
    bot.post(mention("1700000002.000100", "may I?", channel=FUN, user="U_BO"))
    bot.drain()
    assert [(e["channel"], e["text"]) for e in fake_slack.ephemeral_messages] == [
        (LEGAL, say.NOT_ALLOWED)]
    assert len(fake_bedrock.requests) == 1

    # In the legal channel a follow-up without a mention is remembered, not answered.
    bot.post(mention("1700000003.000100", "first question", channel=LEGAL))
    bot.drain()
    bot.post(reply("1700000004.000100", "and a follow-up", thread_ts="1700000003.000100",
                   channel=LEGAL))
    bot.drain()
    assert len(fake_bedrock.requests) == 2
    stored = [m.text for m in bot.deps.store.all(f"T1:{LEGAL}:1700000003.000100")]
    assert "and a follow-up" in stored
