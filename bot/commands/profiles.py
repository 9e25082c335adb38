"""`python -m bot profiles check`: validate CHANNEL_PROFILES_FILE and print what each channel
gets, every value with where it comes from (a channel's table, [defaults], the environment)."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import Settings
from bot.profiles import RELOAD_CHECK_SECONDS, ChannelProfile, ChannelProfiles

PROMPT_PREVIEW_CHARS = 60


def add_parser(commands: Any) -> None:
    profiles = commands.add_parser("profiles", help="check the per-channel profiles file")
    profiles.add_argument("action", choices=["check"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    profiles = ChannelProfiles.from_settings(settings)  # ConfigError: one line, exit 2
    loaded = profiles.current
    path = settings.channel_profiles_file
    if path is None:
        print("CHANNEL_PROFILES_FILE is not set: every channel uses the environment's settings.")
    else:
        print(f"{path}: valid, {len(loaded.channels)} channel(s). A change is picked up "
              f"without a restart, within {RELOAD_CHECK_SECONDS:g} s.")
    print()
    print(describe("every other channel", loaded.defaults))
    for channel_id, profile in sorted(loaded.channels.items()):
        print()
        print(describe(channel_id, profile))
    return 0


def describe(title: str, profile: ChannelProfile) -> str:
    rows = [
        ("system_prompt", _preview(profile.system_prompt)),
        ("model_id", profile.model_id),
        ("temperature", f"{profile.temperature:g}"),
        ("token_budget", f"{profile.token_budget:,}"),
        ("reply_without_mention_in_threads",
         "yes" if profile.reply_without_mention_in_threads else "no"),
        ("allowed_user_ids", ", ".join(sorted(profile.allowed_user_ids)) or "everyone"),
        ("daily_tokens_per_user",
         f"{profile.daily_tokens_per_user:,}" if profile.daily_tokens_per_user else "no cap"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{title}:"]
    for name, value in rows:
        key = "system_prompt" if name == "system_prompt" else name
        lines.append(f"  {name:<{width}}  {value}  ({profile.origin_of(key)})")
    return "\n".join(lines)


def _preview(text: str) -> str:
    line = " ".join(text.split())
    if len(line) > PROMPT_PREVIEW_CHARS:
        line = line[:PROMPT_PREVIEW_CHARS].rstrip() + "…"
    return f'"{line}" ({len(text):,} characters)'
