"""Display names for user ids, asked of Slack once per user per process."""

from __future__ import annotations

import logging
import threading

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

log = logging.getLogger(__name__)


class UserNames:
    def __init__(self, client: WebClient, *, max_entries: int = 10_000) -> None:
        self._client = client
        self._names: dict[str, str] = {}
        self._lock = threading.Lock()
        self._max_entries = max_entries

    def name_of(self, user_id: str) -> str:
        with self._lock:
            cached = self._names.get(user_id)
        if cached is not None:
            return cached
        name = self._fetch(user_id)
        self._keep(user_id, name)
        return name

    def remember(self, user_id: str, name: str) -> None:
        """A name the event itself carried: fresher than a cached users.info answer."""
        if user_id and name:
            self._keep(user_id, name)

    def _keep(self, user_id: str, name: str) -> None:
        with self._lock:
            if len(self._names) >= self._max_entries and user_id not in self._names:
                self._names.clear()
            self._names[user_id] = name

    def _fetch(self, user_id: str) -> str:
        try:
            user = self._client.users_info(user=user_id)["user"]
        except (SlackApiError, KeyError, TypeError) as error:
            log.warning("users.info failed for %s: %s", user_id, _slack_error(error))
            return user_id
        profile = user.get("profile") or {}
        return (
            profile.get("display_name") or profile.get("real_name")
            or user.get("real_name") or user.get("name") or user_id
        )


def _slack_error(error: Exception) -> str:
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "unknown_error"))
    return type(error).__name__
