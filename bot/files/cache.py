"""The prepared files a process keeps for the next turns (FILE_CACHE_MB), and the files it
was told are gone.

cachetools' TTLCache measured in bytes: least recently used files leave first once the size
is reached, and every entry leaves after `ttl` seconds, so a file deleted while another
process held it there is not sent from that copy for longer than that.
"""

from __future__ import annotations

import threading

from cachetools import LRUCache, TTLCache

from bot.files.prepare import Outcome, size_of

DEFAULT_TTL_SECONDS = 600.0
_GONE_IDS = 100_000


class PreparedFiles:
    def __init__(self, *, max_bytes: int, ttl_seconds: float = DEFAULT_TTL_SECONDS) -> None:
        self._lock = threading.Lock()
        self._entries: TTLCache[str, Outcome] | None = (
            TTLCache(maxsize=max_bytes, ttl=ttl_seconds, getsizeof=size_of) if max_bytes > 0
            else None
        )
        self._gone: LRUCache[str, bool] = LRUCache(maxsize=_GONE_IDS)

    def get(self, file_id: str) -> Outcome | None:
        if self._entries is None:
            return None
        with self._lock:
            return self._entries.get(file_id)

    def put(self, file_id: str, outcome: Outcome) -> None:
        if self._entries is None or size_of(outcome) > self._entries.maxsize:
            return
        with self._lock:
            self._entries[file_id] = outcome

    def evict(self, file_id: str) -> None:
        """Slack said the file changed where it is shared: fetch it afresh next time."""
        if self._entries is not None:
            with self._lock:
                self._entries.pop(file_id, None)

    def forget(self, file_id: str) -> None:
        """The file was deleted: never fetched or sent again from this process."""
        self.evict(file_id)
        with self._lock:
            self._gone[file_id] = True

    def is_gone(self, file_id: str) -> bool:
        with self._lock:
            return file_id in self._gone
