"""A channel profile's daily_tokens_per_user overrides DAILY_TOKENS_PER_USER there; the usage
it is checked against is the person's whole day, every channel and thread together."""

from __future__ import annotations

from tests.e2e.channels.test_threads import mention

OPEN, TIGHT = "C0OPEN", "C0TIGHT"


def test_a_profiles_cap_applies_in_its_channel_against_the_whole_days_usage(
    start_bot, fake_slack, fake_bedrock, tmp_path
):
    path = tmp_path / "profiles.toml"
    path.write_text(f"[channels.{OPEN}]\ndaily_tokens_per_user = 0\n\n"
                    f"[channels.{TIGHT}]\ndaily_tokens_per_user = 1\n")
    bot = start_bot(channel_profiles_file=path, daily_tokens_per_user=1_000_000)

    bot.post(mention("1700000001.000100", "one", channel=OPEN))
    bot.drain()
    bot.post(mention("1700000002.000100", "two", channel=OPEN))  # no cap in this channel
    bot.drain()
    bot.post(mention("1700000003.000100", "three", channel=TIGHT))  # the day's usage is over 1
    bot.drain()
    bot.post(mention("1700000004.000100", "four", channel="C0ELSE"))  # the environment's cap
    bot.drain()

    assert len(fake_bedrock.requests) == 3
    [told] = fake_slack.ephemeral_messages
    assert (told["channel"], told["user"]) == (TIGHT, "U_ANA")
    assert "allowance of 1 tokens" in told["text"]
    assert fake_slack.thread_texts(TIGHT, "1700000003.000100") == []
