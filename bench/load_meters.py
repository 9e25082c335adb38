"""What the bot costs during a row of the load benchmark: CPU and peak memory of the bot's
process and all its descendants (the bot may run as several processes)."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path

import psutil


def process_tree(root: psutil.Process) -> list[psutil.Process]:
    """`root` and its descendants alive now."""
    try:
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def cpu_seconds(processes: list[psutil.Process]) -> float:
    """User and system CPU of `processes`, and of the children they have reaped (so a worker
    that exited between two readings still counts)."""
    total = 0.0
    for process in processes:
        try:
            times = process.cpu_times()
        except psutil.Error:
            continue
        total += times.user + times.system + times.children_user + times.children_system
    return total


def _high_water_mark(pid: int) -> int:
    """The kernel's peak RSS of one process (VmHWM) in bytes, where Linux offers it."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class PeakMemory:
    """The bot's peak resident memory: the RSS of its process tree summed and sampled with
    psutil, and at least the main process's own high-water mark (VmHWM)."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        tree: list[psutil.Process] = []
        for tick in itertools.count():
            if self._stop.wait(0.02):
                return
            # Listing descendants reads all of /proc (about 3 ms): done every half second only.
            if tick % 25 == 0:
                tree = process_tree(self._process)
            rss = 0
            for process in tree:
                try:
                    rss += process.memory_info().rss
                except psutil.Error:
                    continue
            self._peak = max(self._peak, rss)

    def stop(self) -> float:
        """Peak RSS in MB (call before the process exits)."""
        self._stop.set()
        self._thread.join()
        return max(self._peak, _high_water_mark(self._process.pid)) / 2**20


class CpuMeter:
    """CPU seconds used since creation by the bot's process tree, by DynamoDB Local (a JVM) and
    by this benchmark's own processes (the fake Slack and Bedrock servers, the senders)."""

    def __init__(self, bot_pid: int) -> None:
        self._bot = psutil.Process(bot_pid)
        self._me = psutil.Process()
        self._start = self._now()

    def _now(self) -> dict[str, float]:
        bot = process_tree(self._bot)
        bot_pids = {process.pid for process in bot}
        others = [p for p in self._me.children(recursive=True) if p.pid not in bot_pids]
        java = [p for p in others if _name(p) == "java"]
        return {
            "bot": cpu_seconds(bot),
            "DynamoDB Local": cpu_seconds(java),
            # Only own CPU here: the bot's CPU is also in this process's children_* once reaped.
            "fakes and load generator": sum(_own_cpu(p) for p in [self._me, *others]
                                            if p not in java),
        }

    def used(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._start[name] for name in now}


def _name(process: psutil.Process) -> str:
    try:
        return process.name()
    except psutil.Error:
        return ""


def _own_cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return times.user + times.system
