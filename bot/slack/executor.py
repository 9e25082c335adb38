"""The listener pool, able to say when all work is done (graceful shutdown, tests)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

# Work waiting for a listener thread, beyond the threads themselves: a flood beyond this waits
# where it came from (the worker's queue of requests, Bolt's dispatch) instead of piling up here.
QUEUED_PER_THREAD = 4


class ListenerExecutor(ThreadPoolExecutor):
    def __init__(self, max_workers: int) -> None:
        super().__init__(max_workers=max_workers, thread_name_prefix="listener")
        self._pending = 0
        self._idle = threading.Condition()
        self._limit = max_workers * (1 + QUEUED_PER_THREAD)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        with self._idle:
            self._idle.wait_for(lambda: self._pending < self._limit)
            self._pending += 1
        future = super().submit(fn, *args, **kwargs)
        future.add_done_callback(self._done)
        return future

    def _done(self, _: Future[Any]) -> None:
        with self._idle:
            self._pending -= 1
            self._idle.notify_all()  # a submission waiting for room, or wait_idle

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no listener is queued or running; False on timeout."""
        with self._idle:
            return self._idle.wait_for(lambda: self._pending == 0, timeout=timeout)
