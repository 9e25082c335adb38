"""The load shapes of the load benchmark, and where each row's threads come from.

- steady: Slack takes 50 ms per call, every thread already holds a 50-turn history, the sender
  keeps its HTTP connections open from one burst to the next;
- harsh: Slack answers at once, every thread is new (a top-level @mention in a channel never
  used before, nothing stored), each event comes on a new HTTP connection, and the fake Bedrock
  gathers a burst's requests and streams them on one schedule, so every answer ends at once.

Over Socket Mode every event is an envelope of its own in both shapes.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Protocol

from bench.load_burst import LoadThread
from tests.fakes._clock import next_ts

SHAPE_NAMES = ("steady", "harsh")


@dataclass(frozen=True)
class Shape:
    name: str
    slack_latency: float
    history_turns: int
    fresh_threads: bool
    keep_alive: bool
    finish_together: bool

    def describe(self) -> str:
        threads = ("new threads (top-level @mentions, nothing stored)" if self.fresh_threads
                   else f"{self.history_turns}-turn history per thread")
        http = ("HTTP connections kept alive between bursts" if self.keep_alive
                else "a new HTTP connection per event")
        model = ("a burst's answers start and end together" if self.finish_together
                 else "each answer streams as soon as it is asked for")
        return (f"{self.name}: Slack {self.slack_latency * 1000:.0f} ms per call, {threads}, "
                f"{http}, {model}")


def make_shape(name: str, *, slack_latency: float, history_turns: int) -> Shape:
    """The shape called `name`; the two arguments are the steady shape's."""
    if name == "harsh":
        return Shape(name, slack_latency=0.0, history_turns=0, fresh_threads=True,
                     keep_alive=False, finish_together=True)
    return Shape(name, slack_latency=slack_latency, history_turns=history_turns,
                 fresh_threads=False, keep_alive=True, finish_together=False)


class ThreadSource(Protocol):
    def warm_up(self, count: int) -> list[LoadThread]: ...

    def round(self, number: int, count: int) -> list[LoadThread]: ...


class PrefilledThreads:
    """Threads that hold a history: half are for the timed rounds, half for warm-ups."""

    def __init__(self, pool: list[LoadThread]) -> None:
        self._timed, self._spare = pool[: len(pool) // 2], pool[len(pool) // 2 :]

    def warm_up(self, count: int) -> list[LoadThread]:
        return self._spare[:count]

    def round(self, number: int, count: int) -> list[LoadThread]:
        return [self._timed[(number * count + i) % len(self._timed)] for i in range(count)]


class FreshThreads:
    """A thread never used before for every event, in a channel of its own."""

    def __init__(self, first_index: int) -> None:
        self._indices = itertools.count(first_index)

    def warm_up(self, count: int) -> list[LoadThread]:
        return self._new(count)

    def round(self, number: int, count: int) -> list[LoadThread]:
        return self._new(count)

    def _new(self, count: int) -> list[LoadThread]:
        return [LoadThread(next(self._indices), top_level_ts=next_ts()) for _ in range(count)]
