"""The fake Bedrock of the load benchmark: FakeBedrock that can make a burst's answers finish
together (the "harsh" shape), so the bot meets every answer's end at the same instant.

Once armed with `expect_burst(n)`, each request waits until the burst's n-th has come; then all
of them stream on one schedule: the same time to the first token, the same token rate, each
pause measured from the common start (not from the previous write), so answers of the same
length end at the same moment.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from tests.fakes.bedrock import BedrockRequest, FakeBedrock, _Fault

# A burst whose requests do not all come (a turn failed) is released after this long.
GATHER_TIMEOUT_SECONDS = 30.0


class BurstBedrock(FakeBedrock):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._gate: threading.Barrier | None = None
        self._released_at = 0.0
        self._schedule = threading.local()  # per request thread: when its next write is due

    def expect_burst(self, requests: int | None) -> None:
        """Hold the next `requests` requests until all have come (None: answer each at once)."""
        self._gate = None
        if requests:
            self._gate = threading.Barrier(requests, action=self._release,
                                           timeout=GATHER_TIMEOUT_SECONDS)

    def _release(self) -> None:
        self._released_at = time.monotonic()

    def _start_time(self) -> float | None:
        gate = self._gate
        if gate is None:
            return None
        try:
            gate.wait()
        except threading.BrokenBarrierError:
            return time.monotonic()
        return self._released_at

    def _record(self, request: BedrockRequest) -> _Fault | None:
        fault = super()._record(request)
        self._schedule.due = self._start_time()
        return fault

    def _finish(self) -> None:
        self._schedule.due = None
        super()._finish()

    def _pause(self, seconds: float) -> None:
        due = getattr(self._schedule, "due", None)
        if due is None:
            super()._pause(seconds)
            return
        self._schedule.due = due + seconds
        super()._pause(self._schedule.due - time.monotonic())
