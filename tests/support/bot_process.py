"""The bot as a separate OS process (`python -m bot serve`), for multi-replica tests and benches."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from tests.fakes.signing import post_event
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class BotProcess:
    """`env` holds the bot's settings as environment variables (names from the README)."""

    command = "serve"
    root: Path = ROOT  # the tree whose `bot` is run

    def __init__(self, env: dict[str, str], *, log_path: Path | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = {
            **os.environ,
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SIGNING_SECRET,
            "PORT": str(self.port),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            **env,
        }
        self._log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 90) -> BotProcess:
        output = open(self._log_path, "wb") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [sys.executable, "-m", "bot", self.command], cwd=self.root, env=self._process_env(),
            stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise RuntimeError(f"bot process exited with {self._process.returncode}")
            if self.is_ready():
                return self
            time.sleep(0.1)
        raise RuntimeError("bot process did not become healthy")

    def _process_env(self) -> dict[str, str]:
        return self._env

    def is_ready(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/healthz", timeout=1):
                return True
        except OSError:
            return False

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("bot process is not started")
        return self._process.pid

    def post(self, payload: dict[str, Any], **kwargs: Any) -> tuple[int, str]:
        return post_event(f"{self.url}/slack/events", payload, SIGNING_SECRET, **kwargs)

    def terminate(self) -> None:
        """Send SIGTERM, as an orchestrator does, without waiting for the process to exit."""
        if self._process and self._process.poll() is None:
            self._process.terminate()

    def wait(self, timeout: float) -> int:
        """The exit code, once the process has exited (TimeoutExpired after `timeout`)."""
        if self._process is None:
            raise RuntimeError("bot process is not started")
        return self._process.wait(timeout=timeout)

    def stop(self) -> None:
        if self._process and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
