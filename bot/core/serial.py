"""The messages of one thread, in order, without holding a worker thread for any of them.

Each message goes through two steps. Its **intake** (decide, claim, store) runs in the order
messages reached the bot: a place in the thread's queue is reserved the moment an event
arrives (while Slack's request is being acknowledged), before the work for it starts on a
worker thread, so the message that reached the bot first is taken in first, even when the
next one arrives a millisecond later and its worker happens to start sooner. Its **answer**,
if it needs one, is written by the thread's one answering worker: follow-ups that are taken in
while an answer is being written wait for it and are answered together, in one answer that
sees all of them. No worker ever waits for another message's work: a worker that finds its
thread busy leaves its step to the one already working there (flat combining).
"""

from __future__ import annotations

import heapq
import itertools
import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger(__name__)

# A reservation whose work never started (its worker died, its event was dropped) is passed
# over after this long, so one lost event delays its thread once and never blocks it.
UNCLAIMED_SECONDS = 5.0
_POLL_SECONDS = 0.05


class Answer(Protocol):
    """What a taken-in message still needs: the answer written by the thread's answering
    worker. `folded` are earlier ones of the thread answered together with this one."""

    order: str

    def run(self, folded: Sequence[Answer]) -> None: ...


Intake = Callable[[], "Answer | None"]


@dataclass(order=True)
class _Place:
    order: str
    arrival: int
    reserved_at: float = field(compare=False)
    intake: Intake | None = field(default=None, compare=False)


@dataclass
class _Thread:
    waiting: list[_Place] = field(default_factory=list)
    taking_in: bool = False
    answering: bool = False
    answers: list[Answer] = field(default_factory=list)

    @property
    def idle(self) -> bool:
        return not (self.waiting or self.taking_in or self.answering or self.answers)


class SessionQueue:
    def __init__(self, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Condition()
        self._threads: dict[str, _Thread] = {}
        self._places: dict[int, tuple[str, _Place]] = {}
        self._arrivals = itertools.count(1)
        self._clock = clock

    def reserve(self, session_id: str, *, order: str) -> int:
        """Take a place for a message whose work will start soon; `handle` fills it."""
        with self._lock:
            place = _Place(order, next(self._arrivals), self._clock())
            heapq.heappush(self._thread(session_id).waiting, place)
            self._places[place.arrival] = (session_id, place)
            return place.arrival

    def cancel(self, reservation: int) -> None:
        """Give a reserved place up (the event turned out not to need one)."""
        with self._lock:
            entry = self._places.pop(reservation, None)
            if entry is not None:
                session_id, place = entry
                thread = self._threads.get(session_id)
                if thread is not None and place in thread.waiting:
                    thread.waiting.remove(place)
                    heapq.heapify(thread.waiting)
                    self._lock.notify_all()
                self._forget_if_idle(session_id)

    def handle(
        self, session_id: str, intake: Intake, *, order: str = "", reservation: int | None = None
    ) -> None:
        """Take the message in, in its place, then answer it with the thread's others; returns
        at once when another worker is busy with the thread (that worker does both)."""
        with self._lock:
            entry = self._places.pop(reservation, None) if reservation is not None else None
            if entry is not None and entry[0] == session_id:
                entry[1].intake = intake
            else:
                place = _Place(order, next(self._arrivals), self._clock(), intake)
                heapq.heappush(self._thread(session_id).waiting, place)
            thread = self._thread(session_id)
            if thread.taking_in:
                self._lock.notify_all()
                return
            thread.taking_in = True
        self._take_in(session_id)
        self._answer(session_id)

    def _take_in(self, session_id: str) -> None:
        while True:
            with self._lock:
                thread = self._threads[session_id]
                place = self._next_ready(thread)
                if place is None:
                    thread.taking_in = False
                    self._lock.notify_all()
                    return
            assert place.intake is not None
            try:
                answer = place.intake()
            except Exception as error:  # noqa: BLE001 - one message never stops its thread
                log.error("taking in a message failed: %s", type(error).__name__, exc_info=error)
                answer = None
            if answer is not None:
                with self._lock:
                    thread.answers.append(answer)

    def _next_ready(self, thread: _Thread) -> _Place | None:
        """The head of the queue once its work has arrived (called with the lock held)."""
        while thread.waiting:
            head = thread.waiting[0]
            if head.intake is not None:
                return heapq.heappop(thread.waiting)
            if self._clock() - head.reserved_at >= UNCLAIMED_SECONDS:
                heapq.heappop(thread.waiting)
                self._places.pop(head.arrival, None)
                continue
            self._lock.wait(_POLL_SECONDS)
        return None

    def _answer(self, session_id: str) -> None:
        while True:
            with self._lock:
                thread = self._threads.get(session_id)
                if thread is None or thread.answering:
                    return
                # An intake still running on another worker may add to this batch: wait for it.
                while thread.taking_in:
                    self._lock.wait(_POLL_SECONDS)
                batch, thread.answers = thread.answers, []
                if not batch:
                    self._forget_if_idle(session_id)
                    return
                thread.answering = True
            batch.sort(key=lambda answer: answer.order)
            try:
                batch[-1].run(batch[:-1])
            except Exception as error:  # noqa: BLE001 - the thread goes on with the next ones
                log.error("an answer failed: %s", type(error).__name__, exc_info=error)
            finally:
                with self._lock:
                    thread.answering = False

    def _thread(self, session_id: str) -> _Thread:
        return self._threads.setdefault(session_id, _Thread())

    def _forget_if_idle(self, session_id: str) -> None:
        thread = self._threads.get(session_id)
        if thread is not None and thread.idle:
            del self._threads[session_id]
