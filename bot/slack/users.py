"""Display names for user ids, asked of Slack once per user per day per process."""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

from cachetools import TTLCache
from slack_sdk import WebClient

from bot.slack.client import Refused, SlackCaller

log = logging.getLogger(__name__)

MAX_NAMES = 10_000
# People rename themselves now and then; a day-old name is fine, a name from last year is not.
NAME_TTL_SECONDS = 86_400
LOOKUPS_PER_MESSAGE = 20


class UserNames:
    def __init__(self, client: WebClient, *, max_entries: int = MAX_NAMES) -> None:
        self._client = client
        self._names: TTLCache[str, str] = TTLCache(maxsize=max_entries, ttl=NAME_TTL_SECONDS)
        self._lock = threading.Lock()  # TTLCache is not thread-safe

    def name_of(self, user_id: str) -> str:
        """The name Slack shows for the user; the id itself when Slack cannot say."""
        with self._lock:
            cached = self._names.get(user_id)
        if cached is not None:
            return cached
        name = self._fetch(user_id)
        if name:
            self.remember(user_id, name)
        return name or user_id

    def for_one_message(self, most: int = LOOKUPS_PER_MESSAGE) -> Callable[[str], str]:
        """`name_of` for the people one message mentions, live or read by the backfill: it
        asks Slack about `most` people at the most (a message with thousands of mentions would
        make thousands of calls); the rest are shown as their ids."""
        asked: set[str] = set()

        def name_of(user_id: str) -> str:
            with self._lock:
                cached = self._names.get(user_id)
            if cached is not None:
                return cached
            if user_id not in asked and len(asked) >= most:
                return user_id
            asked.add(user_id)
            return self.name_of(user_id)

        return name_of

    def remember(self, user_id: str, name: str) -> None:
        """A name the event itself carried: fresher than a cached users.info answer."""
        if user_id and name:
            with self._lock:
                self._names[user_id] = name

    def _fetch(self, user_id: str) -> str:
        """users.info's name, or "" when it fails (not cached, so the next turn asks again)."""
        try:
            response = SlackCaller(user_id, log).call(self._client.users_info, user=user_id)
        except Refused:
            return ""
        user = response.get("user")
        if not isinstance(user, dict):
            return ""
        profile = user.get("profile") or {}
        return str(
            profile.get("display_name") or profile.get("real_name")
            or user.get("real_name") or user.get("name") or ""
        )
