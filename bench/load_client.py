"""The load generator's sending side, run in a process of its own (see `Sender`).

In the benchmark's main process the fake Slack and Bedrock servers are busy with a hundred
streams; a sender sharing their interpreter lock would wait for it and report the bot's acks
as slower than they are. This module imports nothing heavy, so its process starts quickly.

Requests go out as bytes built before the burst is released, on plain sockets: http.client
(its header formatting and email-based response parsing) cost the sender about 0.2 ms of
interpreter time per request, so the hundredth of a burst was timed about 15 ms late on an
idle machine, for any bot (docs/performance-load.md, "The sender's floor").
"""

from __future__ import annotations

import socket
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

# (key, body, headers) in; (key, sent at (epoch seconds), HTTP status, milliseconds) out.
Request = tuple[str, bytes, dict[str, str]]
Outcome = tuple[str, float, int, float]

# The sender process's idle keep-alive connections, all to one bot (the one it last sent to).
_idle: list[socket.socket] = []
_idle_port = 0


def _kept_alive(port: int, count: int) -> list[socket.socket]:
    """`count` open connections to `port`: idle ones from earlier bursts, then new ones."""
    global _idle_port
    if port != _idle_port:
        while _idle:
            _idle.pop().close()
        _idle_port = port
    taken = [_idle.pop() for _ in range(min(count, len(_idle)))]
    taken += [_connect(port) for _ in range(count - len(taken))]
    return taken


def _connect(port: int) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port))


def _wire(body: bytes, headers: dict[str, str], *, close: bool) -> bytes:
    fields = {**headers, "Host": "127.0.0.1", "Content-Length": str(len(body))}
    if close:
        fields["Connection"] = "close"
    head = "".join(f"{name}: {value}\r\n" for name, value in fields.items())
    return f"POST /slack/events HTTP/1.1\r\n{head}\r\n".encode() + body


def _response(connection: socket.socket) -> tuple[int, bool]:
    """Read one response: its status, and whether the connection may be used again."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return 0, False
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    fields = {name.strip().lower(): value.strip()
              for name, _, value in (line.partition(":") for line in lines[1:])}
    missing = int(fields.get("content-length", "0")) - len(rest)
    while missing > 0:
        chunk = connection.recv(missing)
        if not chunk:
            return 0, False
        missing -= len(chunk)
    return int(lines[0].split()[1]), fields.get("connection", "").lower() != "close"


def post_all_at_once(port: int, requests: list[Request], *, keep_alive: bool) -> list[Outcome]:
    """POST every request to /slack/events from its own thread, all released at one instant.

    With `keep_alive` each request goes on an open connection that earlier bursts used;
    without, each opens a new connection after the release and asks the bot to close it."""
    start = threading.Barrier(len(requests))
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    reused: list[socket.socket | None] = (
        list(_kept_alive(port, len(requests))) if keep_alive else [None] * len(requests))

    def send(request: Request, connection: socket.socket | None) -> None:
        key, body, headers = request
        wire = _wire(body, headers, close=connection is None)
        start.wait()
        sent, began = time.time(), time.perf_counter()
        status, reusable = 0, False
        try:
            if connection is None:
                connection = _connect(port)
            connection.sendall(wire)
            status, reusable = _response(connection)
        except OSError:
            pass
        with lock:
            outcomes.append((key, sent, status, (time.perf_counter() - began) * 1000))
            if connection is not None:
                if keep_alive and reusable:
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
