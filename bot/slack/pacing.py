"""How often the bot may edit its messages, across every answer it is streaming at once.

Slack's rate limits count per method per app per workspace, not per message: chat.appendStream
is Tier 4 (100+ calls a minute, generous bursts) and chat.update Tier 3 (50+ a minute). A
per-answer interval alone would let 100 simultaneous answers send 100 appends a second. So a
process shares one budget per method; an answer that finds it spent keeps buffering and sends
its text with its next allowed edit, or when it finishes (chat.stopStream takes the rest).
Each replica has its own budget (docs/scaling.md).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

APPENDS_PER_MINUTE = 100  # chat.appendStream, Tier 4
UPDATES_PER_MINUTE = 50  # chat.update, Tier 3


class CallBudget:
    """A token bucket: `per_minute` calls on average, at most `burst` at once.

    `try_take` never waits: the caller decides what to do instead (buffer, send later).
    """

    def __init__(
        self, per_minute: float, *, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._rate = per_minute / 60
        self._burst = burst
        self._tokens = float(burst)
        self._clock = clock
        self._updated = clock()
        self._lock = threading.Lock()

    def try_take(self) -> bool:
        with self._lock:
            now = self._clock()
            self._tokens = min(self._burst, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            if self._tokens < 1:
                return False
            self._tokens -= 1
            return True


@dataclass(frozen=True)
class SlackPacing:
    """The edit budgets one app (one process) shares between all its answers."""

    appends: CallBudget = field(
        default_factory=lambda: CallBudget(APPENDS_PER_MINUTE, burst=APPENDS_PER_MINUTE)
    )
    updates: CallBudget = field(
        default_factory=lambda: CallBudget(UPDATES_PER_MINUTE, burst=UPDATES_PER_MINUTE)
    )
