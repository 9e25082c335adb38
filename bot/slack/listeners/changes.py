"""Edits and deletions: mirrored into the thread's memory, never answered.

Bolt's `Assistant` middleware acknowledges `message_changed` and `message_deleted` events of
assistant (DM) threads and stops them there, so no listener registered after it would ever
see them. This middleware runs before it and hands every such event, on every surface, to one
listener through Bolt's own listener runner: acknowledged at once, applied in a lazy function
(a second invocation on AWS Lambda), like every other event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltRequest, BoltResponse
from slack_bolt.listener import CustomListener

from bot.files.attach import PromptFiles
from bot.slack.events import parse_change
from bot.slack.files import tombstoned_files
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.places import place_of
from bot.slack.turns import SlackTurns

log = logging.getLogger(__name__)


def register(app: App, turns: SlackTurns, *, files: PromptFiles | None = None) -> None:
    def mirror_change(body: dict, context: BoltContext) -> None:
        if files is not None:
            for file_id in tombstoned_files(body):
                files.forget(file_id)  # a file deleted from a message: its object is a tombstone
        turns.mirror(body, bot_user_id=context.bot_user_id or "", reservation=place_of(context))

    listener = CustomListener(
        app_name=app.name, ack_function=ack_at_once, lazy_functions=[mirror_change],
        matchers=[], middleware=[], base_logger=log,
    )

    @app.middleware
    def route_changes(
        req: BoltRequest, resp: BoltResponse, body: dict[str, Any], next: Callable[[], BoltResponse]
    ) -> BoltResponse | None:
        if body.get("type") != "event_callback" or parse_change(body) is None:
            return next()
        return req.context.listener_runner.run(
            request=req, response=resp, listener_name="mirror_change", listener=listener
        )
