"""The Stop button: `agent_session_stopped` stops the answer running in that thread.

Answers register here while they stream, by session id. The event is handled in its ack (a
flag set in memory, nothing slow), so it is never queued behind the answer it stops; every
event of a thread reaches the same worker process (bot/serving/route.py), so it finds the
answer there. A stop for a thread with nothing running does nothing.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from bot.core.records import SessionKey
from bot.slack.events import team_of
from bot.slack.payload import mapping_of, text_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StopRequest:
    session: SessionKey
    user_id: str


def parse_stop(body: Mapping[str, Any]) -> StopRequest | None:
    """An agent_session_stopped event: channel and thread in `event`, the team on the envelope."""
    event = mapping_of(body.get("event"))
    team_id = team_of(body, event)
    channel, thread_ts = text_of(event.get("channel")), text_of(event.get("thread_ts"))
    if not (team_id and channel and thread_ts):
        return None
    return StopRequest(SessionKey(team_id, channel, thread_ts), text_of(event.get("user")))


class RunningAnswers:
    """The answers streaming in this process, each with the signal that stops it."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._running: dict[str, list[threading.Event]] = {}

    @contextmanager
    def running(self, session_id: str) -> Iterator[threading.Event]:
        signal = threading.Event()
        with self._lock:
            self._running.setdefault(session_id, []).append(signal)
        try:
            yield signal
        finally:
            with self._lock:
                signals = self._running.get(session_id, [])
                if signal in signals:
                    signals.remove(signal)
                if not signals:
                    self._running.pop(session_id, None)

    def stop(self, session_id: str) -> int:
        """Stop every answer running in the thread; how many there were."""
        with self._lock:
            signals = list(self._running.get(session_id, []))
        for signal in signals:
            signal.set()
        return len(signals)
