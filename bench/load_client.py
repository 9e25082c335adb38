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

# The sender process's idle keep-alive connections, all to one bot (the one it last sent to).
_idle: list[http.client.HTTPConnection] = []
_idle_port = 0


def _kept_alive(port: int, count: int) -> list[http.client.HTTPConnection]:
    """`count` open connections to `port`: idle ones from earlier bursts, then new ones."""
    global _idle_port
    if port != _idle_port:
        while _idle:
            _idle.pop().close()
        _idle_port = port
    taken = [_idle.pop() for _ in range(min(count, len(_idle)))]
    for _ in range(count - len(taken)):
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        connection.connect()
        taken.append(connection)
    return taken


def post_all_at_once(port: int, requests: list[Request], *, keep_alive: bool) -> list[Outcome]:
    """POST every request to /slack/events from its own thread, all released at one instant.

    With `keep_alive` each request goes on an open connection that earlier bursts used;
    without, each opens a new connection after the release and asks the bot to close it."""
    start = threading.Barrier(len(requests))
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    reused = _kept_alive(port, len(requests)) if keep_alive else [None] * len(requests)

    def send(request: Request, connection: http.client.HTTPConnection | None) -> None:
        key, body, headers = request
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            headers = {**headers, "Connection": "close"}
        start.wait()
        sent, began = time.time(), time.perf_counter()
        status, reusable = 0, False
        try:
            connection.request("POST", "/slack/events", body=body, headers=headers)
            response = connection.getresponse()
            response.read()
            status, reusable = response.status, keep_alive and not response.will_close
        except OSError:
            pass
        with lock:
            outcomes.append((key, sent, status, (time.perf_counter() - began) * 1000))
            if reusable:
                _idle.append(connection)
            else:
                connection.close()

    senders = [threading.Thread(target=send, args=pair) for pair in zip(requests, reused, strict=True)]
    for sender in senders:
        sender.start()
    for sender in senders:
        sender.join()
    return outcomes


class Sender:
    """A separate process that sends bursts (spawned once, reused for every burst)."""

    def __init__(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn"))

    def send(self, port: int, requests: list[Request], *, keep_alive: bool) -> list[Outcome]:
        return self._pool.submit(post_all_at_once, port, requests, keep_alive=keep_alive).result()

    def close(self) -> None:
        self._pool.shutdown()
