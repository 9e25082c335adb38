"""Long-running modes: HTTP (production) and Socket Mode (development)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, cast

from bot.config import ConfigError, Settings
from bot.lifecycle import connect_until_terminated, freeze_startup_objects, serve_until_terminated
from bot.slack.executor import ListenerExecutor
from bot.wiring import Dependencies, build_dependencies

if TYPE_CHECKING:
    from slack_bolt import App

log = logging.getLogger(__name__)

# Socket Mode threads only dispatch: Bolt acknowledges an event and hands the answer to the
# listener pool (WORKER_THREADS) within a millisecond, so a few threads keep up with any burst.
SOCKET_MODE_DISPATCH_THREADS = 16


def _ready_dependencies(settings: Settings) -> Dependencies:
    if settings.dynamodb_table:
        from bot.store.table import describe_table_problem
        from bot.wiring import dynamodb_client

        problem = describe_table_problem(
            dynamodb_client(settings), settings.dynamodb_table, settings.aws_region
        )
        if problem:
            raise ConfigError(problem)
    return build_dependencies(settings)


def run_http(settings: Settings) -> int:
    settings.require("slack_bot_token", "slack_signing_secret")
    from bot.http_server import make_server
    from bot.slack.app import create_app

    app = create_app(_ready_dependencies(settings))
    server = make_server(app, port=settings.port)
    freeze_startup_objects()
    log.info("HTTP mode: POST /slack/events, GET /healthz on port %s", settings.port)
    serve_until_terminated(server, _listener_pool(app))
    return 0


def run_socket_mode(settings: Settings) -> int:
    settings.require("slack_bot_token", "slack_app_token")
    from slack_bolt.adapter.socket_mode import SocketModeHandler

    from bot.slack.app import create_app

    app = create_app(_ready_dependencies(settings))
    handler = SocketModeHandler(
        app, settings.secret("slack_app_token"), concurrency=SOCKET_MODE_DISPATCH_THREADS
    )
    freeze_startup_objects()
    log.info("Socket Mode: connecting to Slack")
    connect_until_terminated(handler, _listener_pool(app))
    return 0


def _listener_pool(app: App) -> ListenerExecutor:
    # create_app always gives the app a ListenerExecutor, the pool that can say when it is idle.
    return cast(ListenerExecutor, app.listener_runner.listener_executor)
