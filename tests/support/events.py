"""Event payloads for the fault tests.

`sample_event` starts from shape_samples/<Name>Payload.json (copied, with its MIT licence, from
the team's Slack shape samples: ../shared/slack/shape-samples/events), which has
every key Slack has been seen to send with its value blanked, and fills in the values a case
needs: the parsers must tolerate every other key as Slack sends it.
"""

from __future__ import annotations

import copy
import json
import secrets
import time
from functools import cache
from pathlib import Path
from typing import Any

from tests.fakes._clock import next_ts
from tests.fakes.signing import app_mention, event_callback, message

SHAPE_SAMPLES = Path(__file__).resolve().parent / "shape_samples"
BOT = "U_BOT"
CHANNEL = "C0CHANNEL"


@cache
def _sample(name: str) -> dict[str, Any]:
    path = SHAPE_SAMPLES / f"{name}Payload.json"
    if not path.exists():
        raise FileNotFoundError(f"shape sample {path} is missing (copy it from ../shared/slack/shape-samples/events)")
    return json.loads(path.read_text())


def sample_event(
    name: str, *, team_id: str = "T1", drop: tuple[str, ...] = (), **event: Any
) -> dict[str, Any]:
    """The `name` sample envelope with blank ids filled and `event` keys set (None deletes a
    key); `drop` deletes keys of the envelope."""
    body = copy.deepcopy(_sample(name))
    team = team_id
    body.update(
        token="legacy-verification-token", team_id=team, api_app_id="A1",
        type="event_callback", event_id="Ev" + secrets.token_hex(5).upper(),
        event_time=int(time.time()),
    )
    for key in ("enterprise_id", "context_enterprise_id"):
        if key in body:
            body[key] = None
    if "context_team_id" in body:
        body["context_team_id"] = team
    for authorization in body.get("authorizations", []):
        authorization.update(enterprise_id=None, team_id=team, user_id=BOT, is_bot=True)
    target = body["event"]
    for key, value in event.items():
        if value is None:
            target.pop(key, None)
        else:
            target[key] = value
    for key in drop:
        body.pop(key, None)
    return body


def mention(text: str, *, ts: str | None = None, thread_ts: str | None = None, user: str = "U_ANA",
            team: str = "T1", channel: str = CHANNEL, event_id: str | None = None) -> dict[str, Any]:
    event = app_mention(channel=channel, user=user, text=f"<@{BOT}> {text}", ts=ts or next_ts(),
                        thread_ts=thread_ts, team=team)
    return event_callback(event, team_id=team, event_id=event_id)


def reply(text: str, *, thread_ts: str, ts: str | None = None, user: str = "U_ANA",
          team: str = "T1", channel: str = CHANNEL, **extra: Any) -> dict[str, Any]:
    event = message(channel=channel, user=user, text=text, ts=ts or next_ts(), thread_ts=thread_ts,
                    channel_type="channel", team=team, **extra)
    return event_callback(event, team_id=team)


def dm(text: str, *, ts: str | None = None, thread_ts: str | None = None, user: str = "U_ANA",
       channel: str = "D0DM", **extra: Any) -> dict[str, Any]:
    event = message(channel=channel, user=user, text=text, ts=ts or next_ts(), thread_ts=thread_ts,
                    channel_type="im", team="T1", **extra)
    return event_callback(event, team_id="T1")


def ts_of(payload: dict[str, Any]) -> str:
    return str(payload["event"]["ts"])


def thread_of(payload: dict[str, Any]) -> str:
    event = payload["event"]
    return str(event.get("thread_ts") or event["ts"])
