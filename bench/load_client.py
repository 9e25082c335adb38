"""The load generator's sending side, run in a process of its own (see `Sender`).

In the benchmark's main process the fake Slack and Bedrock servers are busy with a hundred
streams; a sender sharing their interpreter lock would wait for it and report the bot's acks
as slower than they are. This module imports nothing heavy, so its process starts quickly.
"""

from __future__ import annotations

import http.client
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

# (key, body, headers) in; (key, sent at (epoch seconds), HTTP status, milliseconds) out.
Request = tuple[str, bytes, dict[str, str]]
Outcome = tuple[str, float, int, float]


def post_all_at_once(port: int, requests: list[Request]) -> list[Outcome]:
    """POST every request to /slack/events from its own thread, all released at one instant."""
    start = threading.Barrier(len(requests))
    outcomes: list[Outcome] = []
    lock = threading.Lock()

    def send(key: str, body: bytes, headers: dict[str, str]) -> None:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        start.wait()
        sent, began = time.time(), time.perf_counter()
        try:
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError:
            status = 0
        finally:
            connection.close()
        with lock:
            outcomes.append((key, sent, status, (time.perf_counter() - began) * 1000))

    senders = [threading.Thread(target=send, args=request) for request in requests]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return outcomes


class Sender:
    """A separate process that sends bursts (spawned once, reused for every burst)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))

    def send(self, port: int, requests: list[Request]) -> list[Outcome]:
        return self._pool.submit(post_all_at_once, port, requests).result()

    def close(self) -> None:
        self._pool.shutdown()
