"""Handle the messages of one thread one at a time, in message order, in this process.

A place in a thread's queue can be reserved the moment an event arrives (while Slack's
request is being acknowledged), before the work for it starts on a worker thread: a message
that reached the bot first is then handled first, even when the next one arrives a
millisecond later and its worker happens to start sooner.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# A reservation whose work never started (its worker died, its event was dropped) is passed
# over after this long, so one lost event delays its thread once and never blocks it.
UNCLAIMED_SECONDS = 5.0
_POLL_SECONDS = 0.25


@dataclass(order=True)
class _Place:
    order: str
    arrival: int
    reserved_at: float = field(compare=False)
    claimed: bool = field(default=False, compare=False)
    ready: threading.Event = field(default_factory=threading.Event, compare=False)


@dataclass
class _Session:
    holder: _Place | None = None
    waiting: list[_Place] = field(default_factory=list)


class SessionQueue:
    """One turn at a time per session, so each answer is built on the history stored before
    it; other threads never wait. Waiting turns run in `order` (the message's sort key), so a
    later message that overtook an earlier one on its way here still waits for it.
    """

    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, _Session] = {}
        self._places: dict[int, tuple[str, _Place]] = {}
        self._arrivals = itertools.count(1)
        self._clock = clock

    def reserve(self, session_id: str, *, order: str) -> int:
        """Take a place for work that will start soon; returns the id `turn` claims it with."""
        with self._lock:
            place = self._enqueue(session_id, order, claimed=False)
            self._places[place.arrival] = (session_id, place)
            return place.arrival

    def cancel(self, reservation: int) -> None:
        """Give a reserved place up (the event turned out not to need a turn)."""
        with self._lock:
            entry = self._places.pop(reservation, None)
            if entry is not None:
                self._leave(*entry)

    @contextmanager
    def turn(self, session_id: str, *, order: str = "", reservation: int | None = None) -> Iterator[None]:
        with self._lock:
            entry = self._places.pop(reservation, None) if reservation is not None else None
            if entry is not None and entry[0] == session_id:
                place = entry[1]
                place.claimed = True
            else:
                if entry is not None:
                    self._leave(*entry)
                place = self._enqueue(session_id, order, claimed=True)
        while not place.ready.wait(_POLL_SECONDS):
            self._pass_over_abandoned(session_id)
        try:
            yield
        finally:
            with self._lock:
                self._leave(session_id, place)

    def _enqueue(self, session_id: str, order: str, *, claimed: bool) -> _Place:
        place = _Place(order, next(self._arrivals), self._clock(), claimed)
        session = self._sessions.setdefault(session_id, _Session())
        if session.holder is None:
            session.holder = place
            place.ready.set()
        else:
            heapq.heappush(session.waiting, place)
        return place

    def _leave(self, session_id: str, place: _Place) -> None:
        session = self._sessions.get(session_id)
        if session is None:
            return
        if session.holder is place:
            session.holder = None
            if session.waiting:
                session.holder = heapq.heappop(session.waiting)
                session.holder.ready.set()
        elif place in session.waiting:
            session.waiting.remove(place)
            heapq.heapify(session.waiting)
        if session.holder is None:
            del self._sessions[session_id]

    def _pass_over_abandoned(self, session_id: str) -> None:
        with self._lock:
            session = self._sessions.get(session_id)
            holder = session.holder if session else None
            if holder is None or holder.claimed:
                return
            if self._clock() - holder.reserved_at >= UNCLAIMED_SECONDS:
                self._places.pop(holder.arrival, None)
                self._leave(session_id, holder)
