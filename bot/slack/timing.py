"""One log line per answered turn: how long it took, and how much of that was the bot's own work.

The bot's own work is the CPU time of the threads that ran the turn. Waiting on Slack, DynamoDB
or the model blocks in a socket read and costs no CPU, so what is left is everything the bot
does itself: parsing, building the prompt, encoding requests and decoding answers, streaming
bookkeeping, logging. The load benchmark (bench/load.py) reads these lines.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

TURN_LINE = "turn %s took %.1f ms, %.2f ms of it the bot's own CPU"


class TurnClock:
    """When a turn's message arrived, and the CPU its work has taken so far. A thread's intake
    and its answer may run on different threads (bot/core/serial.py), so each part adds the CPU
    of the thread it ran on."""

    def __init__(self) -> None:
        self.arrived = time.perf_counter()
        self.cpu_seconds = 0.0

    @contextmanager
    def counting(self) -> Iterator[None]:
        """Add this thread's CPU while the block runs."""
        start = time.thread_time()
        try:
            yield
        finally:
            self.cpu_seconds += time.thread_time() - start


@contextmanager
def timed_turn(session_id: str, *, since: TurnClock) -> Iterator[None]:
    """Log the turn when it ends; `since` also counts the work done before it was known to be
    one (the claim and the status)."""
    try:
        with since.counting():
            yield
    finally:
        log.info(TURN_LINE, session_id, (time.perf_counter() - since.arrived) * 1000,
                 since.cpu_seconds * 1000)
