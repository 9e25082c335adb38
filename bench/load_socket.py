"""One burst of the load benchmark over Socket Mode: the same @mentions as `fire_burst`, sent as
events_api envelopes on the bot's WebSocket instead of signed HTTP POSTs.

The ack is the bot's `{"envelope_id": ...}` coming back on the socket; its time is taken in the
fake Socket Mode server's own process (bench/load_socket_server.py), the status and answer
times by the fake Slack in this process, both with `time.time()`, so they share one clock.
"""

from __future__ import annotations

from collections.abc import Sequence

from bench.load_burst import (
    BurstResult,
    LoadThread,
    measure_burst,
    mention_payload,
    wait_for_answers,
)
from bench.load_socket_server import SocketServer
from tests.fakes.slack_api import FakeSlack

# BurstResult counts acks by HTTP status; on the socket an ack either came (200) or not (0).
ACKED, NOT_ACKED = 200, 0


def fire_socket_burst(
    server: SocketServer, slack: FakeSlack, threads: Sequence[LoadThread], *,
    timeout: float = 300,
) -> BurstResult:
    """Send one @mention per thread back to back on the socket; wait until every answer is
    closed. An envelope never acked counts as status 0, its wait as its ack time."""
    slack.reset()
    deliveries = [(thread.channel, mention_payload(thread)) for thread in threads]
    ack_timeout = min(60.0, timeout)
    outcomes = server.burst(deliveries, ack_timeout=ack_timeout)
    wait_for_answers(slack, threads, timeout)
    sent_at = {channel: sent for channel, sent, _ in outcomes}
    acks = [
        (NOT_ACKED, ack_timeout * 1000) if acked is None else (ACKED, (acked - sent) * 1000)
        for _, sent, acked in outcomes
    ]
    return measure_burst(slack, threads, sent_at, acks)
