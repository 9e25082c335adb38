"""Bounded requests: bodies over the limit are refused before they are read, so a flood of
unsigned 64 MB POSTs (no credentials needed) costs the bot no memory."""

from __future__ import annotations

import socket
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit

import pytest

MB = 2**20


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


def post_64_mb(url: str) -> bytes:
    """Send a 64 MB unsigned POST until the bot hangs up; returns the status line it answered."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(f"POST {parts.path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {64 * MB}\r\n\r\n".encode())
        try:
            for _ in range(64):
                sock.sendall(b"x" * MB)
        except OSError:
            pass  # the bot answered and closed the connection: what it should do
        return sock.recv(64).split(b"\r\n", 1)[0]


@pytest.mark.parametrize("processes", ["0", "2"], ids=["one process", "front and workers"])
def test_four_unsigned_64_mb_bodies_are_refused_without_the_memory(start_replicas, processes):
    (bot,) = start_replicas(1, WORKER_PROCESSES=processes)
    before = peak_rss_mb(bot.pid)
    with ThreadPoolExecutor(max_workers=4) as pool:
        statuses = list(pool.map(lambda _: post_64_mb(f"{bot.url}/slack/events"), range(4)))
    assert statuses == [b"HTTP/1.1 413 Request Entity Too Large"] * 4
    assert peak_rss_mb(bot.pid) - before < 16
    assert bot.is_ready()
