"""One log line per answered turn: how long it took, and how much of that was the bot's own work.

The bot's own work is the CPU time of the thread that ran the turn. Waiting on Slack, DynamoDB
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


TurnClock = tuple[float, float]


def turn_clock() -> TurnClock:
    """Where a turn starts: wall time and the thread's CPU time."""
    return time.perf_counter(), time.thread_time()


@contextmanager
def timed_turn(session_id: str, *, since: TurnClock) -> Iterator[None]:
    """Log the turn when it ends; `since` also counts the work done before it was known to be
    one (the claim and the status)."""
    wall, cpu = since
    try:
        yield
    finally:
        log.info(TURN_LINE, session_id, (time.perf_counter() - wall) * 1000,
                 (time.thread_time() - cpu) * 1000)
