"""Long-running modes: HTTP (production) and Socket Mode (development)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, cast

from bot.config import Settings
from bot.lifecycle import (
    connect_until_terminated,
    finish_answers,
    serve_until_terminated,
)
from bot.slack.executor import ListenerExecutor
from bot.wiring import ready_dependencies

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)

# Socket Mode threads only dispatch: Bolt acknowledges an event and hands the answer to the
# listener pool (WORKER_THREADS) within a millisecond, so a few threads keep up with any burst.
SOCKET_MODE_DISPATCH_THREADS = 16


def run_http(settings: Settings) -> int:
    settings.require("slack_bot_token", "slack_signing_secret")
    from bot.http_server import create_wsgi_app, make_server

    if settings.worker_processes:
        from bot.serving.front_http import create_front_app
        from bot.serving.workers import WorkerPool

        pool = WorkerPool(settings.worker_processes, grace_seconds=settings.shutdown_grace_seconds)
        pool.start()
        server = make_server(create_front_app(
            pool, signing_secret=settings.secret("slack_signing_secret") or ""
        ), port=settings.port)
        finish = pool.stop
    else:
        from bot.slack.app import create_app

        deps = ready_dependencies(settings)
        app = create_app(deps)
        server = make_server(create_wsgi_app(app), port=settings.port)

        def finish() -> bool:
            return finish_answers(deps.conversation, _listener_pool(app),
                                  grace_seconds=settings.shutdown_grace_seconds)
    log.info("HTTP mode: POST /slack/events, GET /healthz on port %s", settings.port)
    serve_until_terminated(server, finish)
    return 0


def run_socket_mode(settings: Settings) -> int:
    settings.require("slack_bot_token", "slack_app_token")
    handler: Any
    if settings.worker_processes:
        from bot.serving.front_socket import create_front_client
        from bot.serving.workers import WorkerPool

        pool = WorkerPool(settings.worker_processes, grace_seconds=settings.shutdown_grace_seconds)
        pool.start()
        handler = create_front_client(pool, app_token=settings.secret("slack_app_token") or "",
                                      api_url=settings.slack_api_url)
        finish = pool.stop
    else:
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        from bot.slack.app import create_app

        deps = ready_dependencies(settings)
        app = create_app(deps)
        handler = SocketModeHandler(
            app, settings.secret("slack_app_token"), concurrency=SOCKET_MODE_DISPATCH_THREADS
        )

        def finish() -> bool:
            return finish_answers(deps.conversation, _listener_pool(app),
                                  grace_seconds=settings.shutdown_grace_seconds)
    log.info("Socket Mode: connecting to Slack")
    connect_until_terminated(handler, finish)
    return 0


def _listener_pool(app: App) -> ListenerExecutor:
    # create_app always gives the app a ListenerExecutor, the pool that can say when it is idle.
    return cast(ListenerExecutor, app.listener_runner.listener_executor)
