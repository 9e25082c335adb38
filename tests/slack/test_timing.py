"""The turn line's CPU: every thread that ran a part of the turn adds its own."""

from __future__ import annotations

import logging
import re
import threading
import time

import pytest

from bot.slack.timing import TurnClock, timed_turn


def burn(seconds: float) -> None:
    """Spend `seconds` of this thread's CPU."""
    until = time.thread_time() + seconds
    while time.thread_time() < until:
        pass


def test_a_turn_taken_in_on_one_thread_and_answered_on_another_counts_both(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = TurnClock()

    def intake() -> None:
        with clock.counting():
            burn(0.03)

    other = threading.Thread(target=intake)
    other.start()
    other.join()
    caplog.set_level(logging.INFO, logger="bot.slack.timing")
    with timed_turn("T1:C1:1.000001", since=clock):
        burn(0.03)

    (line,) = [r.getMessage() for r in caplog.records if r.name == "bot.slack.timing"]
    cpu = float(re.search(r"([\d.]+) ms of it the bot's own CPU", line).group(1))  # type: ignore[union-attr]
    assert cpu >= 60
