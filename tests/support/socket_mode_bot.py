"""The bot in Socket Mode as a separate OS process (`python -m bot socket`), for e2e tests and
the load benchmark. It has no HTTP port to poll, so it counts as started once it has opened a
new connection to the (fake) Socket Mode server."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from tests.support.bot_process import BotProcess

APP_TOKEN = "xapp-1-A1-1-test-app-token"


class SocketModeBotProcess(BotProcess):
    """`connections` counts the connections the Socket Mode server has accepted so far
    (`FakeSocketMode.connections`, or a call into the process that runs it)."""

    command = "socket"

    def __init__(
        self, env: dict[str, str], *, connections: Callable[[], int], log_path: Path | None = None
    ) -> None:
        super().__init__({"SLACK_APP_TOKEN": APP_TOKEN, **env}, log_path=log_path)
        self._connections = connections
        self._connections_before = 0

    def start(self, timeout: float = 90) -> SocketModeBotProcess:
        self._connections_before = self._connections()
        super().start(timeout)
        return self

    def is_ready(self) -> bool:
        return self._connections() > self._connections_before
