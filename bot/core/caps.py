"""Spend caps: the tokens one person may use per UTC day (DAILY_TOKENS_PER_USER, or a channel
profile's daily_tokens_per_user), read from the store's per-day usage counters.

The counters are added to atomically by every replica (MessageStore.add_usage), so the check
sees every process's turns; two turns checked at the same moment may both pass, so a person can
go over the cap by at most the turns already running. Every kind of input token counts (sent,
read from and written to the prompt cache), plus the output, of answers and summaries alike.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.core.ports import MessageStore, StoreUnavailable
from bot.core.usage import utc_day

log = logging.getLogger(__name__)

DAY_SECONDS = 86_400


@dataclass(frozen=True)
class CapCheck:
    used: int
    limit: int
    resets_at: float  # epoch seconds: the next UTC midnight

    @property
    def is_over(self) -> bool:
        return self.limit > 0 and self.used >= self.limit


class DailyTokenCaps:
    def __init__(self, store: MessageStore, *, clock: Callable[[], float] = time.time) -> None:
        self._store = store
        self._clock = clock

    def check(self, user_id: str, *, limit: int) -> CapCheck:
        """How much of today's cap the person used; a store that cannot say lets them through
        (the cap limits spending, it must not take the bot down with the store)."""
        now = self._clock()
        resets_at = float((int(now) // DAY_SECONDS + 1) * DAY_SECONDS)
        if limit <= 0:
            return CapCheck(0, 0, resets_at)
        try:
            rows = self._store.usage([utc_day(now)], user_id=user_id)
        except StoreUnavailable as error:
            log.warning("could not read %s's usage; not capped this turn: %s", user_id, error)
            return CapCheck(0, limit, resets_at)
        return CapCheck(sum(row.usage.total_tokens for row in rows), limit, resets_at)
