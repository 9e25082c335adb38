"""Answer the messages of one thread one at a time, in arrival order, in this process."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager


class SessionQueue:
    """FIFO turns per session: a second message waits for the answer to the first, so each
    answer is built on the history that was stored before it; other threads never wait.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, deque[threading.Event]] = {}

    @contextmanager
    def turn(self, session_id: str) -> Iterator[None]:
        ticket = threading.Event()
        with self._lock:
            queue = self._waiting.setdefault(session_id, deque())
            queue.append(ticket)
            if len(queue) == 1:
                ticket.set()
        ticket.wait()
        try:
            yield
        finally:
            with self._lock:
                queue = self._waiting[session_id]
                queue.popleft()
                if queue:
                    queue[0].set()
                else:
                    del self._waiting[session_id]
