"""A wire-level fake of Slack's Socket Mode WebSocket server, for end-to-end tests and benches.

The app calls `apps.connections.open` (FakeSlack answers with its `socket_mode_url`), connects
here, and is greeted with `hello`; the fake then sends `events_api` envelopes around the same
`event_callback` bodies HTTP mode receives and records when each envelope's ack
(`{"envelope_id": ...}`) comes back on the socket. It runs its own asyncio loop in a daemon
thread, so a test drives it with plain blocking calls.

    with FakeSocketMode() as socket_mode:
        fake_slack.socket_mode_url = socket_mode.url
        ...  # start the bot with SLACK_APP_TOKEN=xapp-... and SLACK_API_URL=fake_slack.url
        envelope_id = socket_mode.deliver(event_callback(app_mention(...)))
        socket_mode.wait_for_acks([envelope_id])

slack_sdk's builtin client connects without TLS when the URL's port is not 443, so a plain
`ws://127.0.0.1:<port>/` works.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any, Self

from websockets.asyncio.server import Server, ServerConnection, serve
from websockets.exceptions import ConnectionClosed


@dataclass
class Envelope:
    """One envelope sent to the app; times are `time.time()` in this process."""

    envelope_id: str
    body: dict[str, Any]
    sent_at: float
    acked_at: float | None = None
    ack: dict[str, Any] | None = None

    @property
    def ack_seconds(self) -> float | None:
        return None if self.acked_at is None else self.acked_at - self.sent_at


class FakeSocketMode:
    """Slack's Socket Mode server on 127.0.0.1; `url` is what apps.connections.open returns."""

    def __init__(self, *, app_id: str = "A1") -> None:
        self.app_id = app_id
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._open: list[ServerConnection] = []
        self._accepted = 0
        self._envelopes: dict[str, Envelope] = {}
        self._received: list[dict[str, Any]] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle ---------------------------------------------------------------------------

    def start(self, timeout: float = 5) -> Self:
        if self._thread is not None:
            return self
        self._loop = asyncio.new_event_loop()
        ready = threading.Event()
        self._thread = threading.Thread(target=self._run, args=(ready,), daemon=True,
                                        name="FakeSocketMode")
        self._thread.start()
        if not ready.wait(timeout):
            raise RuntimeError("FakeSocketMode did not start")
        return self

    def _run(self, ready: threading.Event) -> None:
        loop = self._loop
        assert loop is not None
        asyncio.set_event_loop(loop)
        self._server = loop.run_until_complete(self._listen())
        ready.set()
        loop.run_forever()
        self._server.close()
        loop.run_until_complete(self._server.wait_closed())
        loop.close()

    async def _listen(self) -> Server:
        # The app pings Slack, not the other way round: no keepalive pings from the server.
        return await serve(self._serve_connection, "127.0.0.1", 0, ping_interval=None)

    def stop(self) -> None:
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=5)
        self._loop = self._thread = self._server = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("FakeSocketMode is not started; call start() first")
        port = self._server.sockets[0].getsockname()[1]
        return f"ws://127.0.0.1:{port}/"

    # --- connections -------------------------------------------------------------------------

    @property
    def connections(self) -> int:
        """How many connections the app has opened so far (a reconnect counts again)."""
        with self._lock:
            return self._accepted

    @property
    def open_connections(self) -> int:
        with self._lock:
            return len(self._open)

    def wait_for_connection(self, timeout: float = 10) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self._open, timeout):
                raise AssertionError("FakeSocketMode: no app connected")

    async def _serve_connection(self, connection: ServerConnection) -> None:
        with self._changed:
            self._open.append(connection)
            self._accepted += 1
            count = len(self._open)
            self._changed.notify_all()
        try:
            await connection.send(json.dumps(self._hello(count)))
            async for text in connection:
                self._receive(text)
        except ConnectionClosed:
            pass
        finally:
            with self._changed:
                self._open.remove(connection)
                self._changed.notify_all()

    def _hello(self, connections: int) -> dict[str, Any]:
        return {
            "type": "hello",
            "num_connections": connections,
            "debug_info": {"host": "applink-fake", "build_number": 1,
                           "approximate_connection_time": 18060},
            "connection_info": {"app_id": self.app_id},
        }

    def _receive(self, text: str | bytes) -> None:
        received = time.time()
        message = json.loads(text)
        with self._changed:
            self._received.append(message)
            envelope = self._envelopes.get(message.get("envelope_id", ""))
            if envelope is not None and envelope.acked_at is None:
                envelope.acked_at, envelope.ack = received, message
            self._changed.notify_all()

    # --- envelopes ---------------------------------------------------------------------------

    def deliver(
        self, payload: dict[str, Any], *, retry_attempt: int = 0, retry_reason: str = "",
        timeout: float = 10,
    ) -> str:
        """Send one events_api envelope to the newest connection; its envelope_id."""
        body = self._envelope_body(payload, retry_attempt=retry_attempt, retry_reason=retry_reason)
        return self._send([body], timeout)[0]

    def deliver_many(self, payloads: Sequence[dict[str, Any]], *, timeout: float = 10) -> list[str]:
        """Send one envelope per payload back to back, without waiting for any ack (a burst)."""
        bodies = [self._envelope_body(p, retry_attempt=0, retry_reason="") for p in payloads]
        return self._send(bodies, timeout)

    def _envelope_body(
        self, payload: dict[str, Any], *, retry_attempt: int, retry_reason: str
    ) -> dict[str, Any]:
        return {
            "envelope_id": str(uuid.uuid4()),
            "type": "events_api",
            "accepts_response_payload": False,
            "retry_attempt": retry_attempt,
            "retry_reason": retry_reason,
            "payload": payload,
        }

    def _send(self, bodies: list[dict[str, Any]], timeout: float) -> list[str]:
        self.wait_for_connection(timeout)
        texts = [json.dumps(body) for body in bodies]  # encoded before the clock starts
        assert self._loop is not None
        future = asyncio.run_coroutine_threadsafe(self._send_texts(bodies, texts), self._loop)
        future.result(timeout)
        return [body["envelope_id"] for body in bodies]

    async def _send_texts(self, bodies: list[dict[str, Any]], texts: list[str]) -> None:
        with self._lock:
            connection = self._open[-1]
        for body, text in zip(bodies, texts, strict=True):
            with self._lock:
                # Recorded before sending: the ack may arrive before send() returns.
                self._envelopes[body["envelope_id"]] = Envelope(body["envelope_id"], body, time.time())
            await connection.send(text)

    def wait_for_acks(self, envelope_ids: Sequence[str], timeout: float = 10) -> None:
        """Block until every envelope was acked; AssertionError naming the missing ones."""

        def all_acked() -> bool:
            return all(self._envelopes[i].acked_at is not None for i in envelope_ids)

        with self._changed:
            if not self._changed.wait_for(all_acked, timeout):
                missing = [i for i in envelope_ids if self._envelopes[i].acked_at is None]
                raise AssertionError(f"FakeSocketMode: no ack for {len(missing)} envelope(s): {missing}")

    def envelope(self, envelope_id: str) -> Envelope:
        with self._lock:
            return replace(self._envelopes[envelope_id])

    def ack_seconds(self, envelope_id: str) -> float:
        """Seconds from sending the envelope to receiving its ack (ValueError if not acked)."""
        seconds = self.envelope(envelope_id).ack_seconds
        if seconds is None:
            raise ValueError(f"envelope {envelope_id} was not acked")
        return seconds

    @property
    def received(self) -> list[dict[str, Any]]:
        """Every message the app sent on the socket, acks included, in order."""
        with self._lock:
            return list(self._received)
