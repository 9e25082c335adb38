"""One worker process: the whole Bolt app, fed with the requests the acknowledging process
received for the threads this worker owns."""

from __future__ import annotations

import logging
import os
import queue
import signal
from typing import Any, cast

from bot.serving.workers import Job
from bot.slack.executor import ListenerExecutor

log = logging.getLogger(__name__)

_POLL_SECONDS = 1.0


def run_worker(index: int, jobs: Any, status: Any, grace_seconds: float) -> None:
    # The acknowledging process decides when to stop (it sends None): a Ctrl-C or SIGTERM
    # that reaches the whole process group must not cut answers short here.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    from bot.config import ConfigError, load_settings
    from bot.core.ports import StoreUnavailable
    from bot.lifecycle import finish_answers
    from bot.logs import setup_logging

    settings = load_settings()
    setup_logging(settings.log_level, message_content=settings.log_message_content)
    try:
        from bot.slack.app import create_app
        from bot.wiring import ready_dependencies

        deps = ready_dependencies(settings)
        app = create_app(deps)
    except (ConfigError, StoreUnavailable) as error:
        status.put(("failed", index, str(error)))
        return
    status.put(("ready", index, ""))
    _serve(app, jobs)
    executor = cast(ListenerExecutor, app.listener_runner.listener_executor)  # create_app's
    if not finish_answers(deps.conversation, executor, grace_seconds=grace_seconds):
        log.warning("worker %d cut answers short to stop", index)


def _serve(app: Any, jobs: Any) -> None:
    from slack_bolt import BoltRequest

    parent = os.getppid()
    while True:
        try:
            job: Job | None = jobs.get(timeout=_POLL_SECONDS)
        except queue.Empty:
            if os.getppid() != parent:
                log.error("the acknowledging process is gone; stopping")
                return
            continue
        if job is None:
            return
        try:
            # Acknowledged already: Bolt's ack here answers nobody; its lazy listeners answer.
            app.dispatch(BoltRequest(body=job.body, query=job.query,
                                     headers=dict(job.headers), mode=job.mode))
        except Exception as error:  # noqa: BLE001 - one bad request never stops the worker
            log.error("request could not be handled: %s", type(error).__name__, exc_info=error)
