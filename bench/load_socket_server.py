"""The load benchmark's fake Socket Mode server, run in a process of its own (see `SocketServer`).

The envelopes' send and ack times are taken where the WebSocket ends: if this server shared
the benchmark's main process, whose interpreter lock is busy with the fake Slack and Bedrock
serving a hundred streams, an ack that arrived on time would be read late and reported slow.
Like load_client.py, this module imports nothing heavy, so its process starts quickly.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from typing import Any

from tests.fakes.socket_mode import FakeSocketMode

# (key, payload) in; (key, sent at, acked at or None if no ack came), epoch seconds, out.
Delivery = tuple[str, dict[str, Any]]
Outcome = tuple[str, float, float | None]

_server: FakeSocketMode | None = None  # the one server of the worker process


def _running() -> FakeSocketMode:
    if _server is None:
        raise RuntimeError("the socket server process was not started")
    return _server


def _start() -> str:
    global _server
    _server = FakeSocketMode().start()
    return _server.url


def _connections() -> int:
    return _running().connections


def _burst(deliveries: list[Delivery], ack_timeout: float) -> list[Outcome]:
    server = _running()
    envelope_ids = server.deliver_many([payload for _, payload in deliveries])
    with contextlib.suppress(AssertionError):  # reported as acks that never came
        server.wait_for_acks(envelope_ids, ack_timeout)
    outcomes = []
    for (key, _), envelope_id in zip(deliveries, envelope_ids, strict=True):
        envelope = server.envelope(envelope_id)
        outcomes.append((key, envelope.sent_at, envelope.acked_at))
    return outcomes


def _stop() -> None:
    _running().stop()


class SocketServer:
    """A FakeSocketMode in a separate process (spawned once, reused for every bot and burst)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))
        self.url: str = self._pool.submit(_start).result()

    def connections(self) -> int:
        """How many connections bots have opened so far (SocketModeBotProcess's readiness)."""
        return self._pool.submit(_connections).result()

    def burst(self, deliveries: list[Delivery], *, ack_timeout: float = 60) -> list[Outcome]:
        """Send every payload to the newest connection back to back; wait for their acks."""
        return self._pool.submit(_burst, deliveries, ack_timeout).result()

    def close(self) -> None:
        self._pool.submit(_stop).result()
        self._pool.shutdown()
