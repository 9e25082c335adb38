"""Slack agent sessions: `processing` while the bot answers a thread (Slack shows its native
Stop button then), `active` once the answer is over (docs.slack.dev, "Agent sessions").

The status is a courtesy, never a condition of answering: where Slack refuses it (the app is
not declared as an agent, a scope is missing, the feature is off) the workspace is left alone
for REFUSED_FOR_SECONDS and the turn goes on as without sessions. The calls go through a client
of their own that never waits out a rate limit (setStatus is Tier 3, two calls per answer): a
rate-limited workspace is skipped until Slack's Retry-After has passed.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from cachetools import TTLCache
from slack_sdk import WebClient
from slack_sdk.http_retry import ConnectionErrorRetryHandler

from bot.slack.client import Refused, SlackCaller

log = logging.getLogger(__name__)

PROCESSING = "processing"
ACTIVE = "active"
# Errors that say sessions cannot work for this app in this workspace (not this one call).
UNAVAILABLE = frozenset({
    "feature_disabled", "missing_scope", "not_allowed_token_type", "unknown_method",
    "is_bot", "method_deprecated", "deprecated_endpoint", "enterprise_is_restricted",
    "access_denied", "accesslimited", "no_permission",
})
REFUSED_FOR_SECONDS = 3600.0
# Refused keeps no Retry-After; Tier 3 limits reset within a minute.
RATE_LIMITED_FOR_SECONDS = 30.0
NOT_SUBSCRIBED = "missing_agent_session_stopped_event_subscription"


class AgentSessions:
    """Sets thread sessions' status; one instance per app."""

    def __init__(
        self, client: WebClient, *, enabled: bool = True,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._enabled = enabled
        # Same token and URL as the app's client; retries connection faults only, no 429 waits.
        self._client = WebClient(
            token=client.token, base_url=client.base_url, timeout=client.timeout,
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )
        self._clock = clock
        self._lock = threading.Lock()
        # team -> when its sessions may be tried again (refused, or rate-limited).
        self._skip_until: TTLCache[str, float] = TTLCache(maxsize=10_000, ttl=REFUSED_FOR_SECONDS)
        self._warned_unsubscribed = False

    @contextmanager
    def processing(self, *, team_id: str, channel: str, thread_ts: str) -> Iterator[None]:
        """The session is `processing` while the block runs, `active` afterwards."""
        shown = self._set(PROCESSING, team_id=team_id, channel=channel, thread_ts=thread_ts)
        try:
            yield
        finally:
            if shown:
                self._set(ACTIVE, team_id=team_id, channel=channel, thread_ts=thread_ts)

    def _set(self, status: str, *, team_id: str, channel: str, thread_ts: str) -> bool:
        if not self._enabled or self._is_skipped(team_id):
            return False
        slack = SlackCaller(channel, log)
        try:
            response = slack.call_quietly(
                self._client.agents_sessions_setStatus, channel_id=channel,
                thread_ts=thread_ts, status=status,
            )
        except Refused as refusal:
            self._after_refusal(team_id, refusal)
            return False
        if response.get("warning") and NOT_SUBSCRIBED in str(response.get("warning")):
            self._warn_unsubscribed()
        return True

    def _is_skipped(self, team_id: str) -> bool:
        with self._lock:
            until = self._skip_until.get(team_id)
            return until is not None and self._clock() < until

    def _after_refusal(self, team_id: str, refusal: Refused) -> None:
        if refusal.error in UNAVAILABLE:
            log.warning("agent sessions are unavailable in %s (%s): answering without Slack's "
                        "Stop button; declare the app an agent and add chat:write "
                        "(manifest.yml), or set AGENT_SESSIONS=false", team_id, refusal.error)
            self._skip(team_id, REFUSED_FOR_SECONDS)
        elif refusal.error == "ratelimited":
            self._skip(team_id, RATE_LIMITED_FOR_SECONDS)

    def _skip(self, team_id: str, seconds: float) -> None:
        with self._lock:
            self._skip_until[team_id] = self._clock() + seconds

    def _warn_unsubscribed(self) -> None:
        if not self._warned_unsubscribed:
            self._warned_unsubscribed = True
            log.warning("Slack shows no Stop button: the app is not subscribed to the "
                        "agent_session_stopped event (add it from manifest.yml)")
