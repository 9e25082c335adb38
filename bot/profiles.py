"""Per-channel profiles: a TOML file (CHANNEL_PROFILES_FILE) that changes what the bot does in
some channels, validated as strictly as the environment.

    [defaults]                      # every channel (over the environment)
    temperature = 0.3

    [channels.C0123456789]          # one channel (over [defaults])
    system_prompt_file = "prompts/legal.md"
    model_id = "us.anthropic.claude-opus-4-1"
    allowed_user_ids = ["U01", "U02"]

A key a channel table leaves out comes from [defaults], and one [defaults] leaves out from the
environment. The file is read again when it (or a prompt file it names) changes, at most once
per RELOAD_CHECK_SECONDS; a changed file that is invalid is logged and the previous one kept.
"""

from __future__ import annotations

import logging
import re
import threading
import time
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cachetools import TTLCache
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from bot.config import ConfigError, Settings
from bot.core.records import SessionKey

log = logging.getLogger(__name__)

RELOAD_CHECK_SECONDS = 5.0
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{2,}$")
_VARIABLE = "CHANNEL_PROFILES_FILE"


class ProfileTable(BaseModel):
    """One `[defaults]` or `[channels.<ID>]` table; every key optional."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    system_prompt: str | None = Field(default=None, min_length=1)
    system_prompt_file: Path | None = None
    model_id: str | None = Field(default=None, min_length=1)
    temperature: float | None = Field(default=None, ge=0, le=1)
    token_budget: int | None = Field(default=None, ge=200)
    reply_without_mention_in_threads: bool | None = None
    allowed_user_ids: frozenset[str] | None = None
    daily_tokens_per_user: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_prompt(self) -> ProfileTable:
        if self.system_prompt is not None and self.system_prompt_file is not None:
            raise ValueError("set system_prompt or system_prompt_file, not both")
        return self


class ProfilesFile(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    defaults: ProfileTable = ProfileTable()
    channels: dict[str, ProfileTable] = Field(default_factory=dict)

    @field_validator("channels", mode="before")
    @classmethod
    def _channel_ids(cls, channels: object) -> object:
        if isinstance(channels, dict):
            for channel_id in channels:
                if not _CHANNEL_ID.match(channel_id):
                    # A typo'd or named channel would silently match nothing.
                    raise ValueError(f"{channel_id}: not a channel ID (C…, G… or D…, upper case)")
        return channels


@dataclass(frozen=True)
class ChannelProfile:
    """The settings a turn in one channel follows, every value resolved."""

    system_prompt: str
    model_id: str
    temperature: float
    token_budget: int
    reply_without_mention_in_threads: bool
    allowed_user_ids: frozenset[str]
    daily_tokens_per_user: int
    # Where the channel's table came from: "environment", "[defaults]" or "[channels.C…]".
    source: str = "environment"
    # The keys the file set, each with the table that set it (the rest: the environment).
    set_by: tuple[tuple[str, str], ...] = ()

    def origin_of(self, key: str) -> str:
        return dict(self.set_by).get(key, "environment")


def environment_profile(settings: Settings) -> ChannelProfile:
    return ChannelProfile(
        system_prompt=settings.system_prompt,
        model_id=settings.resolved_model_id,
        temperature=settings.model_temperature,
        token_budget=settings.context_token_budget,
        reply_without_mention_in_threads=settings.reply_without_mention_in_threads,
        allowed_user_ids=settings.allowed_user_ids,
        daily_tokens_per_user=settings.daily_tokens_per_user,
    )


@dataclass(frozen=True)
class LoadedProfiles:
    defaults: ChannelProfile
    channels: dict[str, ChannelProfile]
    # Every file read (the profiles file, its prompt files) with its mtime when read.
    read: tuple[tuple[Path, float], ...] = ()

    def for_channel(self, channel_id: str) -> ChannelProfile:
        return self.channels.get(channel_id, self.defaults)


def load_profiles(path: Path, base: ChannelProfile) -> LoadedProfiles:
    """Read and validate the file; ConfigError with one line naming the key and its line."""
    where = f"{_VARIABLE} {path}"
    try:
        text = path.read_text(encoding="utf-8")
        stamp = path.stat().st_mtime
    except OSError as error:
        raise ConfigError(f"{where} cannot be read ({error.strerror}): set it to a TOML file "
                          "the bot can read") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{where} is not valid TOML: {error}") from None
    try:
        parsed = ProfilesFile.model_validate(raw)
    except ValidationError as error:
        first = error.errors()[0]
        location = [str(part) for part in first["loc"]]
        message = _message(first)
        if location == ["channels"] and ": not a channel ID" in message:
            channel_id, message = message.split(": ", 1)
            location.append(channel_id)
        line = line_of(text, location)
        key = ".".join(location) or "the file"
        at = f" line {line}" if line else ""
        raise ConfigError(f"{where}{at}: {key}: {message}") from None
    read = [(path, stamp)]
    prompts: dict[Path, str] = {}

    def resolve(table: ProfileTable, under: ChannelProfile, source: str,
                location: list[str]) -> ChannelProfile:
        prompt = table.system_prompt
        if table.system_prompt_file is not None:
            prompt_path = table.system_prompt_file
            if not prompt_path.is_absolute():
                prompt_path = path.parent / prompt_path
            if prompt_path not in prompts:
                try:
                    prompts[prompt_path] = prompt_path.read_text(encoding="utf-8").strip()
                    read.append((prompt_path, prompt_path.stat().st_mtime))
                except OSError as error:
                    line = line_of(text, [*location, "system_prompt_file"])
                    at = f" line {line}" if line else ""
                    raise ConfigError(
                        f"{where}{at}: {'.'.join(location)}.system_prompt_file: cannot read "
                        f"{prompt_path} ({error.strerror})"
                    ) from None
            prompt = prompts[prompt_path]
        values: dict[str, Any] = {
            name: getattr(table, name)
            for name in ("model_id", "temperature", "token_budget",
                         "reply_without_mention_in_threads", "allowed_user_ids",
                         "daily_tokens_per_user")
            if getattr(table, name) is not None
        }
        if prompt is not None:
            values["system_prompt"] = prompt
        set_by = {**dict(under.set_by), **dict.fromkeys(values, source)}
        fields = {**under.__dict__, **values, "source": source,
                  "set_by": tuple(sorted(set_by.items()))}
        return ChannelProfile(**fields)

    defaults = resolve(parsed.defaults, base, "[defaults]" if raw.get("defaults") else
                       "environment", ["defaults"])
    channels = {
        channel_id: resolve(table, defaults, f"[channels.{channel_id}]", ["channels", channel_id])
        for channel_id, table in parsed.channels.items()
    }
    return LoadedProfiles(defaults, channels, tuple(read))


def _message(error: Any) -> str:
    message = str(error["msg"])
    return message.removeprefix("Value error, ")


_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")


def line_of(text: str, location: list[str]) -> int | None:
    """The 1-based line of `location` (table names, then a key) in a TOML text: the key's own
    line, else the header of the deepest table on its path. Good enough for files written by
    hand (dotted keys and inline tables point at their table)."""
    if not location:
        return None
    *tables, key = location
    current: list[str] = []
    best: tuple[int, int] | None = None  # (depth, line) of the deepest header on the path
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header:
            current = [part.strip().strip("\"'") for part in header.group(1).split(".")]
            if current == location[: len(current)] and (best is None or len(current) > best[0]):
                best = (len(current), number)
            elif current[: len(location)] == location and best is None:
                best = (len(location), number)  # the location is only made by its sub-tables
            continue
        if current == tables and re.match(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=", line):
            return number
    return best[1] if best else None


class ChannelProfiles:
    """The profile of each channel, read again when the file changes."""

    def __init__(
        self, path: Path | None, base: ChannelProfile, *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._path = path
        self._base = base
        self._clock = clock
        self._lock = threading.Lock()
        self._loaded = load_profiles(path, base) if path else LoadedProfiles(base, {})
        self._checked = clock()
        # Assistant threads live in the person's DM with the bot; the channel they were opened
        # from picks the profile (bot/slack/listeners/assistant.py).
        self._origins: TTLCache[str, str] = TTLCache(maxsize=10_000, ttl=86_400)

    @classmethod
    def from_settings(cls, settings: Settings) -> ChannelProfiles:
        return cls(settings.channel_profiles_file, environment_profile(settings))

    @property
    def current(self) -> LoadedProfiles:
        self._reload_if_changed()
        return self._loaded

    def for_channel(self, channel_id: str) -> ChannelProfile:
        return self.current.for_channel(channel_id)

    def for_session(self, session: SessionKey) -> ChannelProfile:
        return self.for_channel(self._origins.get(session.id, session.channel_id))

    @property
    def has_channels(self) -> bool:
        return bool(self.current.channels)

    def remember_origin(self, session_id: str, channel_id: str) -> None:
        self._origins[session_id] = channel_id

    def knows_origin(self, session_id: str) -> bool:
        return session_id in self._origins

    def _reload_if_changed(self) -> None:
        if self._path is None or self._clock() - self._checked < RELOAD_CHECK_SECONDS:
            return
        with self._lock:
            if self._clock() - self._checked < RELOAD_CHECK_SECONDS:
                return
            self._checked = self._clock()
            if not self._has_changed():
                return
            try:
                self._loaded = load_profiles(self._path, self._base)
            except ConfigError as error:
                log.error("kept the previous channel profiles: %s", error)
                # Not read again until it changes once more.
                self._loaded = LoadedProfiles(self._loaded.defaults, self._loaded.channels,
                                              self._stamps())
                return
            log.info("channel profiles read again from %s (%d channels)", self._path,
                     len(self._loaded.channels))

    def _stamps(self) -> tuple[tuple[Path, float], ...]:
        return tuple((path, _mtime(path)) for path, _ in self._loaded.read)

    def _has_changed(self) -> bool:
        return any(_mtime(path) != stamp for path, stamp in self._loaded.read)


def _mtime(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:
        return -1.0
