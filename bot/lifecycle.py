"""The life of a long-running bot process: a settled heap after start-up, a graceful stop."""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any

from bot.slack.executor import ListenerExecutor

if TYPE_CHECKING:
    from bot.core.conversation import Conversation

log = logging.getLogger(__name__)

# Orchestrators wait 30 s after SIGTERM before SIGKILL (Kubernetes, ECS, Heroku). Answers get
# SHUTDOWN_GRACE_SECONDS to finish; one still streaming then ends with a note, which takes
# this long at most (the Slack calls that close it).
CLOSING_SECONDS = 5.0


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_until_terminated(server: Any, finish: Callable[[], bool]) -> bool:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully; True if no answer was cut short.

    Stopping: requests being acknowledged finish, the listening socket closes (a load balancer
    sends new events to other replicas; Slack retries anything unacknowledged), and answers
    being written get their grace period to finish (`finish`, True if all did).
    """
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run()  # waitress finishes its in-flight requests on SystemExit/KeyboardInterrupt
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return _finishing(finish)


def connect_until_terminated(handler: Any, finish: Callable[[], bool]) -> bool:
    """Socket Mode: take events until SIGTERM or Ctrl-C, then close the connection (Slack
    sends new events to the app's other connections, and retries any not acknowledged) and
    let the answers being written finish, as in HTTP mode. Bolt's `handler.start()` would
    block forever and let SIGTERM cut every answer short.
    """
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        handler.connect()
        threading.Event().wait()  # until SIGTERM or Ctrl-C interrupts the wait
    except (SystemExit, KeyboardInterrupt):
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        handler.close()
    return _finishing(finish)


def finish_answers(
    conversation: Conversation, executor: ListenerExecutor, *, grace_seconds: float
) -> bool:
    """Let the answers in progress finish for `grace_seconds`, then cut the rest short (each
    keeps what was shown and ends with a note); True if none had to be cut."""
    conversation.finish_answers_by(time.monotonic() + grace_seconds)
    if executor.wait_idle(grace_seconds):
        return True
    executor.wait_idle(CLOSING_SECONDS)
    return False


def _finishing(finish: Callable[[], bool]) -> bool:
    log.info("stopping: letting the answers in progress finish")
    finished = finish()
    if finished:
        log.info("stopped: every answer in progress was finished")
    else:
        log.warning("stopped with answers still in progress")
    return finished
