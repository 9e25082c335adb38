"""Turns wait while deliveries are being acknowledged, but never longer than the hold allows."""

from __future__ import annotations

import threading

from bot.slack.ack_first import AckFirst


class SteppedClock:
    """A clock that moves only when someone sleeps on it."""

    def __init__(self) -> None:
        self.now = 100.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def gate(clock: SteppedClock, **kwargs: float) -> AckFirst:
    return AckFirst(quiet_seconds=0.01, max_hold_seconds=0.15, clock=clock, sleep=clock.sleep,
                    **kwargs)


def test_a_turn_starts_at_once_when_nothing_is_being_acknowledged() -> None:
    clock = SteppedClock()
    assert gate(clock).wait_for_turn() == 0
    assert clock.slept == []


def test_a_turn_waits_for_a_quiet_moment_after_the_last_delivery() -> None:
    clock = SteppedClock()
    acks = gate(clock)
    with acks.acknowledging():
        pass
    clock.now += 0.004  # the last delivery was dispatched 4 ms ago
    held = acks.wait_for_turn()
    assert abs(held - 0.006) < 1e-9  # the rest of the 10 ms quiet period
    assert acks.wait_for_turn() == 0  # the gate stays open until the next delivery


def test_a_turn_never_waits_longer_than_the_hold() -> None:
    clock = SteppedClock()
    acks = gate(clock)
    with acks.acknowledging():  # a delivery that takes "forever" to dispatch
        held = acks.wait_for_turn()
    assert abs(held - 0.15) < 1e-9
    assert all(step <= 0.01 for step in clock.slept)  # it kept looking for a quiet moment


def test_waiting_turns_start_together_once_the_burst_is_acknowledged() -> None:
    acks = AckFirst(quiet_seconds=0.0, max_hold_seconds=60)
    dispatching = acks.acknowledging()
    dispatching.__enter__()
    started: list[int] = []
    lock = threading.Lock()

    def turn(number: int) -> None:
        acks.wait_for_turn()
        with lock:
            started.append(number)

    turns = [threading.Thread(target=turn, args=(n,)) for n in range(20)]
    for thread in turns:
        thread.start()
    for thread in turns:
        thread.join(0.05)
    assert started == []  # all held while the delivery is being dispatched
    dispatching.__exit__(None, None, None)
    for thread in turns:
        thread.join(30)
    assert sorted(started) == list(range(20))
