"""How many messages one person may send the bot a minute (RATE_LIMIT_PER_MINUTE; 0: no limit).

The control for one person flooding many threads; counted per process (each replica and worker
counts its own share), over the last sixty seconds.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable

from cachetools import TTLCache

WINDOW_SECONDS = 60


class PersonalRateLimit:
    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.time) -> None:
        self._limit = per_minute
        self._clock = clock
        # Per person, when their recent messages came (a person quiet for a minute is dropped).
        self._recent: TTLCache[str, deque[float]] = TTLCache(
            maxsize=100_000, ttl=WINDOW_SECONDS, timer=clock
        )
        self._lock = threading.Lock()

    def admit(self, user_id: str) -> tuple[bool, bool]:
        """(may this message be answered, is it the first one over the limit in a minute)."""
        if self._limit <= 0:
            return True, False
        now = self._clock()
        with self._lock:
            times = self._recent.get(user_id) or deque()
            while times and times[0] <= now - WINDOW_SECONDS:
                times.popleft()
            times.append(now)
            self._recent[user_id] = times
            count = len(times)
        return count <= self._limit, count == self._limit + 1
