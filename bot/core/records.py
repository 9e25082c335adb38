"""The values the conversation core works with: sessions, stored messages, incoming turns."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from bot.core.files import FileRef

Role = Literal["human", "ai"]

# Slack ts values look like "1700000000.000100"; left-padding to a fixed width makes the
# string order of sort keys equal to the numeric order of ts, for any epoch.
_TS_WIDTH = 20
HUMAN_SLOT = "0"
ANSWER_SLOT = "1"


@dataclass(frozen=True)
class SessionKey:
    """One Slack thread: `{team_id}:{channel_id}:{thread_ts}`."""

    team_id: str
    channel_id: str
    thread_ts: str

    @property
    def id(self) -> str:
        return f"{self.team_id}:{self.channel_id}:{self.thread_ts}"

    @classmethod
    def parse(cls, session_id: str) -> SessionKey:
        team_id, channel_id, thread_ts = session_id.split(":", 2)
        return cls(team_id, channel_id, thread_ts)


def padded_ts(ts: str) -> str:
    """A ts whose string order is its numeric order (stores compare ts values as strings)."""
    return ts.rjust(_TS_WIDTH, "0")


def sort_key(ts: str, slot: str = HUMAN_SLOT) -> str:
    """Order messages by Slack ts; the bot's answer to a message sorts right after it."""
    return f"{padded_ts(ts)}#{slot}"


def ts_of_key(key: str) -> str:
    """The ts a sort key was made from (for an answer: the ts of its question)."""
    digits = key.split("#", 1)[0].lstrip("0")
    return digits if digits[:1].isdigit() else "0" + digits


def is_before(ts: str, other: str) -> bool:
    return padded_ts(ts) < padded_ts(other)


class TsClock:
    """Slack-shaped ts values ("1700000000.000100") that strictly increase within a process,
    so two messages typed in the same microsecond still sort in the order they were sent."""

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        self._clock = clock
        self._last = 0

    def next(self) -> str:
        micros = max(int(self._clock() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


def synthetic_ts() -> str:
    """A ts-shaped value for messages written without a Slack ts (plain LangChain use); the
    random suffix keeps two processes writing in the same microsecond apart."""
    return TsClock().next() + uuid.uuid4().hex[:4]


@dataclass(frozen=True)
class StoredMessage:
    """One message of a thread as the store keeps it: one record per message."""

    key: str
    role: Role
    text: str
    author_id: str = ""
    author_name: str = ""
    slack_ts: str = ""
    metadata: dict[str, str] = field(default_factory=dict, compare=False)
    # The Slack `edited.ts` of the text held here ("": as first written): the newest edit wins.
    edited_ts: str = ""

    @classmethod
    def human(
        cls, *, ts: str, text: str, author_id: str = "", author_name: str = "",
        metadata: dict[str, str] | None = None,
    ) -> StoredMessage:
        return cls(sort_key(ts), "human", text, author_id, author_name, ts, metadata=metadata or {})

    @classmethod
    def answer(
        cls, *, question_ts: str, text: str, posted_ts: str = "",
        metadata: dict[str, str] | None = None,
    ) -> StoredMessage:
        return cls(sort_key(question_ts, ANSWER_SLOT), "ai", text, slack_ts=posted_ts,
                   metadata=metadata or {})


@dataclass(frozen=True)
class Summary:
    """What the messages that left a thread's window said, replayed before the window.

    It covers every message whose key is below `through` (`count` of them). `generation`
    counts the edits and deletions of the thread: a summary is stored only over the
    generation it was read with, so one built from a message that was changed meanwhile is
    never kept.
    """

    text: str = ""
    through: str = ""
    count: int = 0
    generation: int = 0

    def covers(self, key: str) -> bool:
        return bool(self.text) and key < self.through


@dataclass(frozen=True)
class Usage:
    """What one model call used: tokens by how they are billed, which model, how long."""

    input_tokens: int = 0  # sent and neither read from nor written to the prompt cache
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    model_id: str = ""
    latency_ms: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens \
            + self.cache_write_tokens

    def __add__(self, other: Usage) -> Usage:
        return Usage(
            self.input_tokens + other.input_tokens, self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_tokens + other.cache_write_tokens,
            self.model_id or other.model_id, self.latency_ms + other.latency_ms,
        )


@dataclass(frozen=True)
class UsageRecord:
    """One turn's model calls, added to the day's counters of its person and thread."""

    day: str  # UTC, YYYY-MM-DD
    session_id: str
    user_id: str
    usage: Usage
    answers: int = 0
    summaries: int = 0


BACKFILL_PENDING = "pending"
BACKFILL_DONE = "done"


@dataclass(frozen=True)
class SessionState:
    """What a session knows about itself besides its messages.

    `backfill`: "" (never needed), pending (started, not finished: to be tried again) or done;
    `backfill_before`: the ts of the first message stored live, where the read of the thread
    ends. `forgotten_at`: the ts of the last `history forget`; nothing from before it is ever
    stored again. `summary`: what the messages before the window said.
    """

    backfill: str = ""
    backfill_before: str = ""
    forgotten_at: str = ""
    summary: Summary = field(default_factory=Summary)

    def forgot(self, ts: str) -> bool:
        """Whether a message of this ts was written before the session was forgotten."""
        return bool(self.forgotten_at) and not is_before(self.forgotten_at, ts)


@dataclass(frozen=True)
class RecentHistory:
    """The newest messages of a session that fit a budget, oldest first, and its state."""

    messages: list[StoredMessage]
    has_older: bool
    state: SessionState = field(default_factory=SessionState)


@dataclass(frozen=True)
class IncomingMessage:
    """A user message addressed to the bot, already decoded to plain readable text."""

    session: SessionKey
    ts: str
    user_id: str
    text: str
    user_name: str = ""
    # The files shared on the message (references; the bytes are fetched at prompt time).
    files: tuple[FileRef, ...] = ()
