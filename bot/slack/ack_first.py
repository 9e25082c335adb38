"""Acknowledge first: new turns wait while a burst of Slack deliveries is being acknowledged.

Slack retries any delivery not acknowledged within 3 seconds, and an ack costs the process
only about a millisecond of CPU. A turn costs ten to twenty. Python threads have no
priorities: when a hundred events arrive at once, the first turns to start share the
interpreter lock with the acks still waiting to be sent, and the last ack of the burst
waits behind all of them (up to a second on two CPUs). So a turn starts only once no
delivery is being dispatched and none has arrived for `quiet_seconds`, or after
`max_hold_seconds` at most, so a steady stream of events can delay a turn but never starve it.

Only the long-running modes use this (HTTP and Socket Mode, where acks and turns share a
process). On Lambda the ack and the turn run in separate invocations.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

QUIET_SECONDS = 0.01
MAX_HOLD_SECONDS = 0.15


class AckFirst:
    def __init__(
        self,
        *,
        quiet_seconds: float = QUIET_SECONDS,
        max_hold_seconds: float = MAX_HOLD_SECONDS,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._quiet = quiet_seconds
        self._max_hold = max_hold_seconds
        self._clock = clock
        self._sleep = sleep
        self._poll = max(quiet_seconds, 0.001)
        self._lock = threading.Lock()
        self._dispatching = 0
        self._last_arrival = float("-inf")
        self._open = threading.Event()
        self._open.set()
        # One waiting turn watches for the quiet moment; the others sleep until it opens the
        # gate, so a held burst costs one wake-up per turn rather than one per poll.
        self._watcher = threading.Lock()

    @contextmanager
    def acknowledging(self) -> Iterator[None]:
        """Around the dispatch of one delivery (a Bolt middleware)."""
        with self._lock:
            self._dispatching += 1
            self._last_arrival = self._clock()
            self._open.clear()
        try:
            yield
        finally:
            with self._lock:
                self._dispatching -= 1

    def wait_for_turn(self) -> float:
        """Block until acknowledging has quietened down (at most `max_hold_seconds`); returns
        the seconds held."""
        started = self._clock()
        deadline = started + self._max_hold
        while not self._open.is_set():
            remaining = deadline - self._clock()
            if remaining <= 0:
                break
            if not self._watcher.acquire(blocking=False):
                self._open.wait(remaining)
                continue
            try:
                until_quiet = self._until_quiet()
                if until_quiet is not None and until_quiet <= 0:
                    self._open.set()
                    break
                self._sleep(min(until_quiet or self._poll, remaining))
            finally:
                self._watcher.release()
        return self._clock() - started

    def _until_quiet(self) -> float | None:
        """Seconds until the gate may open; None while a delivery is being dispatched."""
        with self._lock:
            if self._dispatching:
                return None
            return self._quiet - (self._clock() - self._last_arrival)
