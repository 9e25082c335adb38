"""CHANNEL_PROFILES_FILE: what each channel gets, the one-line errors of a bad file, and
reading it again when it changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.config import ConfigError, Settings
from bot.profiles import RELOAD_CHECK_SECONDS, ChannelProfiles, environment_profile, line_of

BASE = environment_profile(Settings(_env_file=None, system_prompt="From the environment.",
                                    model_temperature=0.5, context_token_budget=24000))


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "profiles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_channel_table_overrides_defaults_which_override_the_environment(tmp_path):
    (tmp_path / "legal.md").write_text("You answer legal questions.\n", encoding="utf-8")
    path = write(tmp_path, """
[defaults]
temperature = 0.2
token_budget = 8000

[channels.C0LEGAL]
system_prompt_file = "legal.md"
model_id = "us.anthropic.claude-opus-4-1"
allowed_user_ids = ["U1", "U2"]
reply_without_mention_in_threads = false
daily_tokens_per_user = 5000

[channels.C0FUN]
temperature = 0.9
""")
    profiles = ChannelProfiles(path, BASE)

    legal, fun, other = (profiles.for_channel(c) for c in ("C0LEGAL", "C0FUN", "C0OTHER"))
    assert (legal.system_prompt, legal.model_id, legal.temperature, legal.token_budget) == (
        "You answer legal questions.", "us.anthropic.claude-opus-4-1", 0.2, 8000)
    assert legal.allowed_user_ids == {"U1", "U2"}
    assert (legal.reply_without_mention_in_threads, legal.daily_tokens_per_user) == (False, 5000)
    assert (fun.system_prompt, fun.temperature, fun.token_budget) == ("From the environment.", 0.9, 8000)
    assert (other.temperature, other.model_id, other.source) == (0.2, BASE.model_id, "[defaults]")
    assert legal.origin_of("temperature") == "[defaults]"
    assert legal.origin_of("model_id") == "[channels.C0LEGAL]"
    assert legal.origin_of("allowed_user_ids") == "[channels.C0LEGAL]"
    assert fun.origin_of("model_id") == "environment"


@pytest.mark.parametrize(("text", "expected"), [
    ("[defaults]\ntemperature = 2\n", "line 2: defaults.temperature: Input should be less than or equal to 1"),
    ("[channels.C0A]\nmodel = 'x'\n", "line 2: channels.C0A.model: Extra inputs are not permitted"),
    ("[channels.C0A]\n\ntoken_budget = 'big'\n", "line 3: channels.C0A.token_budget: Input should be a valid integer"),
    ("[channels.general]\ntemperature = 0.1\n", "line 1: channels.general: not a channel ID"),
    ("[channel.C0A]\n", "line 1: channel: Extra inputs are not permitted"),
    ("[defaults]\nsystem_prompt = 'a'\nsystem_prompt_file = 'b.md'\n",
     "line 1: defaults: set system_prompt or system_prompt_file, not both"),
    ("[channels.C0A]\nsystem_prompt_file = 'missing.md'\n",
     "line 2: channels.C0A.system_prompt_file: cannot read"),
    ("[defaults\ntemperature = 0.1\n", "is not valid TOML: Expected ']' at the end of a table declaration (at line 1"),
])
def test_a_bad_file_stops_with_one_line_naming_the_key_and_its_line(tmp_path, text, expected):
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as raised:
        ChannelProfiles(path, BASE)
    line = str(raised.value)
    assert "\n" not in line
    assert line.startswith(f"CHANNEL_PROFILES_FILE {path}")
    assert expected in line


def test_a_missing_file_is_named():
    with pytest.raises(ConfigError, match="CHANNEL_PROFILES_FILE /nowhere/p.toml cannot be read"):
        ChannelProfiles(Path("/nowhere/p.toml"), BASE)


def test_line_of_finds_keys_in_their_table():
    text = '[defaults]\nx = 1\n\n[channels."C0A"]\nx = 2\ny = 3\n'
    assert line_of(text, ["defaults", "x"]) == 2
    assert line_of(text, ["channels", "C0A", "y"]) == 6
    assert line_of(text, ["channels", "C0A", "z"]) == 4  # not written: its table's line


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_file_is_read_again_and_a_bad_change_keeps_the_last_good_one(tmp_path, caplog):
    prompt = tmp_path / "p.md"
    prompt.write_text("first prompt", encoding="utf-8")
    path = write(tmp_path, "[channels.C0A]\nsystem_prompt_file = 'p.md'\n")
    clock = Clock()
    profiles = ChannelProfiles(path, BASE, clock=clock)
    assert profiles.for_channel("C0A").system_prompt == "first prompt"

    prompt.write_text("second prompt", encoding="utf-8")
    bump_mtime(prompt)
    assert profiles.for_channel("C0A").system_prompt == "first prompt"  # not checked yet
    clock.now += RELOAD_CHECK_SECONDS
    assert profiles.for_channel("C0A").system_prompt == "second prompt"

    path.write_text("[channels.C0A]\ntemperature = 7\n", encoding="utf-8")
    bump_mtime(path)
    clock.now += RELOAD_CHECK_SECONDS
    assert profiles.for_channel("C0A").system_prompt == "second prompt"
    assert "kept the previous channel profiles" in caplog.text
    assert "line 2: channels.C0A.temperature" in caplog.text

    path.write_text("[channels.C0A]\ntemperature = 0.7\n", encoding="utf-8")
    bump_mtime(path)
    clock.now += RELOAD_CHECK_SECONDS
    assert profiles.for_channel("C0A").temperature == 0.7
    assert profiles.for_channel("C0A").system_prompt == "From the environment."


def bump_mtime(path: Path) -> None:
    """Filesystems keep mtimes in coarse steps; move it on explicitly."""
    import os

    stat = path.stat()
    os.utime(path, (stat.st_atime, stat.st_mtime + 10))
