"""The load benchmark's one table and its notes: a row per shape, setup, transport and thread
count, each row's CPU set against the baseline's row of the same shape, transport and count."""

from __future__ import annotations

import math
import platform
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import psutil

from bench.load_burst import BurstResult

HEADER = [
    "shape", "setup", "transport", "threads", "model s", "makespan s", "÷ latency", "ack p50 ms",
    "ack p99 ms", "status p95 ms", "overhead p50 ms", "Slack calls/answer", "max appends/s",
    "peak RSS MB", "CPU ms/answer", "CPU vs baseline",
]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


@dataclass
class Row:
    shape: str
    setup: str
    is_baseline: bool
    transport: str
    threads: int
    latency: float
    rounds: list[BurstResult]
    turn_cpu_ms: list[float]
    cpu_ms_per_answer: dict[str, float]  # by process group; "bot" is the bot's process tree
    machine_busy: float
    peak_rss_mb: float

    def _all(self, name: str) -> list[float]:
        return [value for result in self.rounds for value in getattr(result, name)]

    @property
    def key(self) -> tuple[str, str, int]:
        return self.shape, self.transport, self.threads

    @property
    def bot_cpu_ms(self) -> float:
        return self.cpu_ms_per_answer["bot"]

    @property
    def makespan(self) -> float:
        return max(result.makespan for result in self.rounds)

    @property
    def answers(self) -> int:
        return sum(result.answers for result in self.rounds)

    @property
    def events(self) -> int:
        return sum(result.events for result in self.rounds)

    @property
    def slack_calls(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for result in self.rounds:
            total += result.slack_calls
        return total

    def cells(self, baseline: Row | None) -> list[str]:
        calls_per_answer = sum(self.slack_calls.values()) / max(self.answers, 1)
        answered = "" if self.answers == self.events else f" ({self.answers}/{self.events} answered)"
        ratio = f"{self.bot_cpu_ms / baseline.bot_cpu_ms:.2f}" if baseline else "-"
        return [
            self.shape,
            self.setup,
            self.transport,
            str(self.threads),
            f"{self.latency:.1f}",
            f"{self.makespan:.2f}{answered}",
            f"{self.makespan / self.latency:.2f}",
            f"{percentile(self._all('ack_ms'), 50):.0f}",
            f"{percentile(self._all('ack_ms'), 99):.0f}",
            f"{percentile(self._all('status_ms'), 95):.0f}",
            f"{percentile(self.turn_cpu_ms, 50):.1f}",
            f"{calls_per_answer:.1f}",
            str(max(result.max_appends_per_second for result in self.rounds)),
            f"{self.peak_rss_mb:.0f}",
            f"{self.bot_cpu_ms:.1f}",
            ratio,
        ]

    def note(self) -> str:
        per_answer = ", ".join(f"{m} {n / max(self.answers, 1):.2f}"
                               for m, n in sorted(self.slack_calls.items()))
        statuses = dict(sum((r.ack_statuses for r in self.rounds), Counter()))
        cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in self.cpu_ms_per_answer.items())
        return (f"- {self.shape}, {self.setup} over {self.transport}, {self.threads} threads: "
                f"CPU ms per answer: {cpu}; all CPUs {self.machine_busy:.0%} busy; "
                f"ack statuses {statuses}; overhead p95 {percentile(self.turn_cpu_ms, 95):.1f} ms; "
                f"Slack calls per answer: {per_answer}")


def table_lines(rows: list[Row]) -> list[str]:
    """A markdown table; "CPU vs baseline" is the bot's CPU per answer over the baseline row's."""
    baselines = {row.key: row for row in rows if row.is_baseline}
    table = [HEADER] + [row.cells(baselines.get(row.key)) for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    lines = []
    for index, cells in enumerate(table):
        lines.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |")
        if index == 0:
            lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return lines


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (f"{psutil.cpu_count()} CPUs ({cpu}), {memory:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")
