"""Worker processes: each runs the whole Bolt app and answers the requests handed to it.

The acknowledging process (bot/serving/front_http.py, front_socket.py) only verifies, acks and
hands each request to the worker that owns its thread (route.py). Work never competes with
acks for one interpreter lock, and answers spread over as many interpreters as there are
workers (`WORKER_PROCESSES`).
"""

from __future__ import annotations

import logging
import multiprocessing
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from bot.config import ConfigError
from bot.lifecycle import CLOSING_SECONDS

log = logging.getLogger(__name__)

START_TIMEOUT_SECONDS = 120
SUPERVISE_SECONDS = 1.0


@dataclass(frozen=True)
class Job:
    """One request as it reached the acknowledging process.

    `mode` is Bolt's: "http" (the raw body and headers, whose signature the worker's Bolt app
    checks again) or "socket_mode" (the envelope's payload)."""

    mode: str
    body: str | dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    query: str = ""


class WorkerPool:
    def __init__(self, count: int, *, grace_seconds: float) -> None:
        self._context = multiprocessing.get_context("spawn")  # no fork after threads started
        self._jobs = [self._context.Queue() for _ in range(count)]
        self._status = self._context.Queue()
        self._processes: list[Any] = [None] * count
        self._grace = grace_seconds
        self._stopping = threading.Event()
        self._supervisor = threading.Thread(target=self._supervise, name="workers", daemon=True)

    @property
    def size(self) -> int:
        return len(self._jobs)

    def start(self) -> None:
        """Start every worker and wait until each has built its app; ConfigError with the
        first worker's reason when one cannot (a refused token, a missing table)."""
        for index in range(self.size):
            self._spawn(index)
        ready: set[int] = set()
        deadline = time.monotonic() + START_TIMEOUT_SECONDS
        while len(ready) < self.size:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                self.stop()
                raise ConfigError(f"worker processes did not start within {START_TIMEOUT_SECONDS} s")
            try:
                state, index, reason = self._status.get(timeout=min(remaining, 1.0))
            except Exception:  # noqa: BLE001 - queue.Empty: look at the processes again
                if any(not p.is_alive() for p in self._processes):
                    self.stop()
                    raise ConfigError("a worker process exited while starting (see its log)") from None
                continue
            if state == "failed":
                self.stop()
                raise ConfigError(reason)
            ready.add(index)
        self._supervisor.start()

    def submit(self, index: int, job: Job) -> None:
        self._jobs[index].put(job)

    def is_healthy(self) -> bool:
        return not self._stopping.is_set() and all(
            process is not None and process.is_alive() for process in self._processes
        )

    def stop(self) -> bool:
        """Let every worker finish its answers in progress (up to the grace period) and exit;
        True if all did in time."""
        self._stopping.set()
        for jobs in self._jobs:
            jobs.put(None)
        deadline = time.monotonic() + self._grace + CLOSING_SECONDS + 5
        finished = True
        for process in self._processes:
            if process is None:
                continue
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                finished = False
                process.terminate()
                process.join(5)
        return finished

    def _spawn(self, index: int) -> None:
        from bot.serving.worker import run_worker

        process = self._context.Process(
            target=run_worker, args=(index, self._jobs[index], self._status, self._grace),
            name=f"worker-{index}", daemon=False,
        )
        process.start()
        self._processes[index] = process

    def _supervise(self) -> None:
        """A worker that died is started again; requests waiting in its queue are kept."""
        while not self._stopping.wait(SUPERVISE_SECONDS):
            for index, process in enumerate(self._processes):
                if process is not None and not process.is_alive() and not self._stopping.is_set():
                    log.error("worker %d exited with %s; starting it again", index, process.exitcode)
                    self._spawn(index)
