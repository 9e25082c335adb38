"""The shape a signed request must have before any Slack handling: a wrong one gets 400, never
a 500 from deep inside the framework."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs

# Slack's largest payloads (a 40,000-character message with its blocks, JSON-escaped) stay
# under 1 MB; this leaves room for what Slack may add and refuses floods before they are read.
MAX_BODY_BYTES = 4 * 1024 * 1024


def payload_of(body: bytes, content_type: str) -> dict[str, Any] | None:
    """The request's JSON payload (interactivity sends it form-encoded, slash commands as plain
    form fields), or None if it is not one."""
    try:
        if content_type.startswith("application/x-www-form-urlencoded"):
            fields = parse_qs(body.decode("utf-8"))
            if "payload" not in fields:
                return {"type": "slash_command"} if "command" in fields else None
            loaded = json.loads(fields["payload"][0])
        else:
            loaded = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None
    return loaded if isinstance(loaded, dict) and is_well_formed(loaded) else None


def is_well_formed(payload: Mapping[str, Any]) -> bool:
    kind = payload.get("type")
    if not isinstance(kind, str):
        return False
    if kind == "event_callback":
        event = payload.get("event")
        return isinstance(event, Mapping) and isinstance(event.get("type"), str)
    return True
