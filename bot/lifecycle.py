"""The life of a long-running bot process: a settled heap after start-up, a graceful stop."""

from __future__ import annotations

import gc
import logging
import signal
import threading
from types import FrameType
from typing import Any

from bot.slack.executor import ListenerExecutor

log = logging.getLogger(__name__)

# Orchestrators wait 30 s after SIGTERM before SIGKILL (Kubernetes, ECS, Heroku); stop first.
SHUTDOWN_GRACE_SECONDS = 25.0
YOUNG_GENERATION_THRESHOLD = 10_000


def freeze_startup_objects() -> None:
    """Leave everything loaded at start-up (botocore's service models, LangChain, Bolt) out of
    every later garbage collection.

    Under a burst of 100 conversations a full collection walked those objects for 160-370 ms
    each time, holding the interpreter lock while acks and answers waited (docs/scaling.md).
    """
    gc.collect()
    gc.freeze()
    # Collect the youngest generation after 10,000 new objects instead of 700. A turn creates
    # thousands (LangChain messages, history items, streamed chunks), nearly all freed at once
    # by reference counting; at 700, a 100-answer burst ran ~380 young, ~35 middle and 3 full
    # collections, 150 ms of lock-holding work that walked the other turns' live objects each
    # time. At 10,000: a few young and no full collection per burst, and about 80 ms sooner
    # on average to the last answer over three A/B pairs of bench/load.py --threads 100.
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, *gc.get_threshold()[1:])


def _exit_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve_until_terminated(
    server: Any, executor: ListenerExecutor, *, grace_seconds: float = SHUTDOWN_GRACE_SECONDS
) -> bool:
    """Serve until SIGTERM or Ctrl-C, then stop gracefully; True if no answer was cut short.

    Stopping: requests being acknowledged finish, the listening socket closes (a load balancer
    sends new events to other replicas; Slack retries anything unacknowledged), and answers
    being written get up to `grace_seconds` to finish.
    """
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run()  # waitress finishes its in-flight requests on SystemExit/KeyboardInterrupt
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()
    return _finish_answers(executor, grace_seconds)


def connect_until_terminated(
    handler: Any, executor: ListenerExecutor, *, grace_seconds: float = SHUTDOWN_GRACE_SECONDS
) -> bool:
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
    return _finish_answers(executor, grace_seconds)


def _finish_answers(executor: ListenerExecutor, grace_seconds: float) -> bool:
    log.info("stopping: waiting up to %.0f s for answers in progress", grace_seconds)
    finished = executor.wait_idle(grace_seconds)
    if finished:
        log.info("stopped: every answer in progress was finished")
    else:
        log.warning("stopped with answers still in progress; their claims are taken over after "
                    "CLAIM_TAKEOVER_SECONDS when Slack retries")
    return finished
