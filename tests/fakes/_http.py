"""A local threaded HTTP server that a fake service runs on, started and stopped by a test."""

from __future__ import annotations

import socket
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self


class _QuietThreadingServer(ThreadingHTTPServer):
    # Handler threads may be asleep in an injected delay; never make stop() wait for them.
    daemon_threads = True
    block_on_close = False
    # The load benchmark opens ~100 connections at once; the default backlog of 5 refuses some.
    request_queue_size = 512
    owner: Any = None

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that hung up (read timeout, cancelled stream) is normal in these tests.
        error = sys.exc_info()[1]
        if isinstance(error, OSError | ValueError):
            return
        super().handle_error(request, client_address)


class FakeHTTPServer:
    """Base for the fakes: binds a free port on 127.0.0.1 and serves from a daemon thread."""

    handler_class: type[BaseHTTPRequestHandler]

    def __init__(self) -> None:
        self._server: _QuietThreadingServer | None = None
        self._serve_thread: threading.Thread | None = None
        # Set on stop() so that injected sleeps end at once.
        self.stopping = threading.Event()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError(f"{type(self).__name__} is not started; call start() first")
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> Self:
        if self._server is not None:
            return self
        self.stopping.clear()
        server = _QuietThreadingServer(("127.0.0.1", 0), self.handler_class)
        server.owner = self
        self._server = server
        self._serve_thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}",
            daemon=True,
        )
        self._serve_thread.start()
        return self

    def stop(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        self.stopping.set()
        server.shutdown()
        server.server_close()
        if self._serve_thread is not None:
            self._serve_thread.join(timeout=5)

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


class QuietHandler(BaseHTTPRequestHandler):
    """HTTP/1.1 keep-alive handler that does not log every request to stderr."""

    protocol_version = "HTTP/1.1"

    @property
    def owner(self) -> Any:
        return self.server.owner  # type: ignore[attr-defined]

    def read_body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def send_bytes(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()

    def reset_connection(self) -> None:
        """Drop the connection with a TCP reset and no response, as a failing proxy does."""
        self.close_connection = True
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        return
