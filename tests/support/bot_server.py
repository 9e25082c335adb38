"""The real bot, as production runs it: settings → dependencies → Bolt app → waitress, on a
free local port, receiving signed HTTP requests."""

from __future__ import annotations

import threading
from typing import Any

from bot.config import Settings
from bot.http_server import create_wsgi_app, make_server
from bot.slack.app import create_app
from bot.wiring import Dependencies, build_dependencies
from tests.fakes.signing import post_event

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"


class BotServer:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.deps: Dependencies = build_dependencies(settings)
        self.app = create_app(self.deps)
        self._server = make_server(create_wsgi_app(self.app), host="127.0.0.1", port=0, threads=8)
        self.url = f"http://127.0.0.1:{self._server.effective_port}"
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        # waitress's run() has no stop; loop in small steps so stop() can end it cleanly.
        while not self._stopping.is_set():
            self._server.asyncore.loop(timeout=0.05, map=self._server._map, count=1)

    def start(self) -> BotServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join(timeout=5)
        self._server.close()
        # close() leaves waitress's worker threads waiting; its own run() stops them on exit.
        self._server.task_dispatcher.shutdown()
        self.app.listener_runner.listener_executor.shutdown(wait=True, cancel_futures=False)

    def post(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return post_event(f"{self.url}/slack/events", payload, SIGNING_SECRET, **kwargs)

    def drain(self, timeout: float = 60) -> None:
        """Wait until every listener started so far has finished."""
        assert self.app.listener_runner.listener_executor.wait_idle(timeout), "bot still busy"
