"""Every message event takes its place in its thread's queue while it is acknowledged.

The place's id travels to the lazy listener in the request context (Bolt copies plain values
into the lazy request), which claims it; see bot/core/serial.py.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import App, BoltContext, BoltResponse

from bot.slack.turns import SlackTurns

PLACE = "thread_place"


def place_of(context: BoltContext) -> int | None:
    place = context.get(PLACE)
    return place if isinstance(place, int) else None


def register(app: App, turns: SlackTurns) -> None:
    @app.middleware
    def take_place_in_thread(
        body: dict[str, Any], context: BoltContext, next: Callable[[], BoltResponse]
    ) -> BoltResponse:
        if body.get("type") == "event_callback":
            place = turns.reserve(body, bot_user_id=context.bot_user_id or "")
            if place is not None:
                context[PLACE] = place
        return next()
