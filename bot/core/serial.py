"""Answer the messages of one thread one at a time, in message order, in this process."""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class _Session:
    waiting: list[tuple[str, int, threading.Event]] = field(default_factory=list)


class SessionQueue:
    """One turn at a time per session, so each answer is built on the history stored before
    it; other threads never wait. Waiting turns run in `order` (the message's sort key), not
    arrival order: a follow-up may overtake an earlier one on its way here (a mention has less
    to check than a plain thread reply) and must still be answered after it.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._arrivals = itertools.count()

    @contextmanager
    def turn(self, session_id: str, *, order: str = "") -> Iterator[None]:
        ticket = threading.Event()
        with self._lock:
            session = self._sessions.get(session_id)
            if session is None:
                self._sessions[session_id] = _Session()
                ticket.set()
            else:
                heapq.heappush(session.waiting, (order, next(self._arrivals), ticket))
        ticket.wait()
        try:
            yield
        finally:
            with self._lock:
                session = self._sessions[session_id]
                if session.waiting:
                    heapq.heappop(session.waiting)[2].set()
                else:
                    del self._sessions[session_id]
