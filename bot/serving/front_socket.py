"""Socket Mode's acknowledging process: ack every envelope on the socket at once and hand its
payload to the worker that owns its thread (slack_sdk's own Socket Mode client, no Bolt)."""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot.serving.envelope import is_well_formed
from bot.serving.route import workers_for
from bot.serving.workers import Job, WorkerPool

log = logging.getLogger(__name__)

# One thread: a thread's envelopes are handed over in the order they came, and an ack and a
# hand-over take well under a millisecond.
DISPATCH_THREADS = 1
FORWARDED_TYPES = frozenset({"events_api", "interactive", "slash_commands"})


def create_front_client(
    pool: WorkerPool, *, app_token: str, api_url: str, web_client: WebClient | None = None
) -> SocketModeClient:
    client = SocketModeClient(
        app_token=app_token,
        web_client=web_client or WebClient(base_url=api_url if api_url.endswith("/") else api_url + "/"),
        concurrency=DISPATCH_THREADS,
    )
    arrivals = 0

    def acknowledge_and_hand_over(socket: BaseSocketModeClient, request: SocketModeRequest) -> None:
        nonlocal arrivals
        socket.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))
        if request.type not in FORWARDED_TYPES or not isinstance(request.payload, dict):
            return
        if request.type == "events_api" and not is_well_formed(request.payload):
            log.warning("dropped a malformed %s envelope", request.type)
            return
        arrivals += 1
        payload: dict[str, Any] = request.payload
        for index in workers_for(payload, pool.size, fallback=arrivals):
            pool.submit(index, Job("socket_mode", payload))

    client.socket_mode_request_listeners.append(acknowledge_and_hand_over)
    return client
