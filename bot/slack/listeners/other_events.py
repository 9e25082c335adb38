"""Events the bot receives but has nothing to do with: acknowledged so Slack does not retry."""

from __future__ import annotations

import logging
import re

from slack_bolt import Ack, App

log = logging.getLogger(__name__)


def register(app: App) -> None:
    def acknowledge_and_ignore(ack: Ack, body: dict) -> None:
        ack()
        log.debug("ignored event %s", (body.get("event") or {}).get("type"))

    # Registered last: Bolt runs the first matching listener, so this only sees the rest.
    app.event(re.compile(".*"))(acknowledge_and_ignore)
