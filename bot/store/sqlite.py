"""Thread history in an embedded SQLite file, for running without AWS.

Same guarantees as the DynamoDB store: one row per message keyed by (session, message key),
`INSERT OR IGNORE` so a retried write is harmless, and nothing ever rewrites another row.
Expired rows are ignored on read and purged now and then.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.core.records import RecentHistory, Role, StoredMessage
from bot.store.sqlite_db import SQLiteDatabase
from bot.store.tokens import take_within_budget

PURGE_INTERVAL_SECONDS = 3600
RECENT_PAGE_SIZE = 40
FOREVER = float("inf")

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    session_id TEXT NOT NULL,
    message_key TEXT NOT NULL,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    author_id TEXT NOT NULL,
    author_name TEXT NOT NULL,
    slack_ts TEXT NOT NULL,
    meta TEXT NOT NULL,
    created_at REAL NOT NULL,
    expires_at REAL,
    PRIMARY KEY (session_id, message_key)
) WITHOUT ROWID;
"""
_COLUMNS = "message_key, role, text, author_id, author_name, slack_ts, meta"
_LIVE = "(expires_at IS NULL OR expires_at > ?)"


class SQLiteMessageStore:
    def __init__(
        self, path: str | Path, *, ttl_seconds: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.db = SQLiteDatabase(path, SCHEMA)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self._purged_at = -FOREVER

    def append(self, session_id: str, messages: Sequence[StoredMessage]) -> int:
        now = self.clock()
        expires_at = int(now) + self.ttl_seconds if self.ttl_seconds > 0 else None
        rows = [
            (session_id, m.key, m.role, m.text, m.author_id, m.author_name, m.slack_ts,
             json.dumps(m.metadata), now, expires_at)
            for m in messages
        ]
        with self.db.transaction("append") as connection:
            before = connection.total_changes
            connection.executemany(
                "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows
            )
            new = connection.total_changes - before
        self._purge_now_and_then(now)
        return new

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        return take_within_budget(self._newest_first(session_id, before_key), token_budget)

    def all(self, session_id: str) -> list[StoredMessage]:
        rows = self.db.read(
            "read", f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? AND {_LIVE} "
            "ORDER BY message_key", (session_id, self.clock()),
        )
        return [_message(row) for row in rows]

    def has_session(self, session_id: str) -> bool:
        rows = self.db.read(
            "read", f"SELECT 1 FROM messages WHERE session_id = ? AND {_LIVE} LIMIT 1",
            (session_id, self.clock()),
        )
        return bool(rows)

    def forget(self, session_id: str) -> int:
        with self.db.transaction("forget") as connection:
            cursor = connection.execute(
                f"DELETE FROM messages WHERE session_id = ? AND {_LIVE}",
                (session_id, self.clock()),
            )
            connection.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            return cursor.rowcount

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        rows = self.db.read(
            "list sessions",
            f"SELECT session_id FROM messages WHERE substr(session_id, 1, ?) = ? AND {_LIVE} "
            "GROUP BY session_id ORDER BY MAX(created_at) DESC, session_id LIMIT ?",
            (len(prefix), prefix, self.clock(), limit),
        )
        return [row[0] for row in rows]

    def close(self) -> None:
        self.db.close()

    def _newest_first(self, session_id: str, before_key: str | None) -> Iterator[StoredMessage]:
        """Rows newest first, one page at a time, so a spent budget stops the reading."""
        before = before_key
        while True:
            condition = "" if before is None else "AND message_key < ?"
            rows = self.db.read(
                "read",
                f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? {condition} AND {_LIVE} "
                "ORDER BY message_key DESC LIMIT ?",
                (session_id, *(() if before is None else (before,)), self.clock(),
                 RECENT_PAGE_SIZE),
            )
            yield from (_message(row) for row in rows)
            if len(rows) < RECENT_PAGE_SIZE:
                return
            before = rows[-1][0]

    def _purge_now_and_then(self, now: float) -> None:
        if now - self._purged_at < PURGE_INTERVAL_SECONDS:
            return
        self._purged_at = now
        with self.db.transaction("purge expired") as connection:
            connection.execute("DELETE FROM messages WHERE expires_at <= ?", (now,))


def _message(row: tuple[Any, ...]) -> StoredMessage:
    key, role, text, author_id, author_name, slack_ts, meta = row
    kind: Role = "ai" if role == "ai" else "human"
    return StoredMessage(key, kind, text, author_id, author_name, slack_ts, json.loads(meta))
