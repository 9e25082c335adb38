"""Thread history in an embedded SQLite file, for running without AWS.

Same guarantees as the DynamoDB store: one row per message keyed by (session, message key),
`INSERT OR IGNORE` so a retried write is harmless, and nothing ever rewrites another row.
A deleted message stays as a tombstone row without text, so no late write brings it back.
Expired rows are ignored on read and purged now and then.
"""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from bot.core.ports import ClaimState, ForgetReport
from bot.core.records import (
    ANSWER_SLOT,
    RecentHistory,
    Role,
    SessionState,
    StoredMessage,
    Summary,
    Usage,
    UsageRecord,
    padded_ts,
    sort_key,
    ts_of_key,
)
from bot.core.tokens import take_oldest_within_budget, take_within_budget
from bot.core.usage import USAGE_DAYS_KEPT, utc_day
from bot.store.sqlite_db import SQLiteDatabase

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
    edited_ts TEXT NOT NULL DEFAULT '',
    deleted INTEGER NOT NULL DEFAULT 0,
    claim_status TEXT NOT NULL DEFAULT '',
    claimed_at REAL NOT NULL DEFAULT 0,
    PRIMARY KEY (session_id, message_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS session_state (
    session_id TEXT PRIMARY KEY,
    backfill TEXT NOT NULL DEFAULT '',
    backfill_before TEXT NOT NULL DEFAULT '',
    backfill_expires_at REAL,
    forgotten_at TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS usage (
    day TEXT NOT NULL,
    user_id TEXT NOT NULL,
    session_id TEXT NOT NULL,
    model_id TEXT NOT NULL,
    input_tokens INTEGER NOT NULL DEFAULT 0,
    output_tokens INTEGER NOT NULL DEFAULT 0,
    cache_read_tokens INTEGER NOT NULL DEFAULT 0,
    cache_write_tokens INTEGER NOT NULL DEFAULT 0,
    latency_ms INTEGER NOT NULL DEFAULT 0,
    answers INTEGER NOT NULL DEFAULT 0,
    summaries INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (day, user_id, session_id, model_id)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS forgotten_authors (
    author_id TEXT PRIMARY KEY,
    forgotten_at TEXT NOT NULL
) WITHOUT ROWID;
"""
# Columns added after the first release: files written by it gain them on open.
_ADDED_COLUMNS = {
    "messages": {
        "edited_ts": "TEXT NOT NULL DEFAULT ''",
        "deleted": "INTEGER NOT NULL DEFAULT 0",
        "claim_status": "TEXT NOT NULL DEFAULT ''",
        "claimed_at": "REAL NOT NULL DEFAULT 0",
    },
    "session_state": {
        "summary": "TEXT NOT NULL DEFAULT ''",
        "summary_through": "TEXT NOT NULL DEFAULT ''",
        "summary_count": "INTEGER NOT NULL DEFAULT 0",
        "summary_gen": "INTEGER NOT NULL DEFAULT 0",
        "summary_expires_at": "REAL",
    },
}
_USAGE_COLUMNS = ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens",
                  "latency_ms")
_USAGE_FIELDS = (*_USAGE_COLUMNS, "answers", "summaries")
_USAGE_COUNTS = ", ".join(_USAGE_FIELDS)
# Counts added into the day's row of that person, thread and model.
_USAGE_UPSERT = ("ON CONFLICT (day, user_id, session_id, model_id) DO UPDATE SET "
                 + ", ".join(f"{name} = {name} + excluded.{name}" for name in _USAGE_FIELDS))

_COLUMNS = "message_key, role, text, author_id, author_name, slack_ts, meta, edited_ts"
_TOMBSTONE = ("text = '', author_id = '', author_name = '', meta = '{}', deleted = 1, "
              "claim_status = 'DONE'")
# A row without a role is a claim only (a message answered or refused, not remembered).
_LIVE = "deleted = 0 AND role != '' AND (expires_at IS NULL OR expires_at > ?)"
IN_PROGRESS = "IN_PROGRESS"
DONE = "DONE"
# Dropping a summary also moves its generation on, so a summary being built is refused.
_NO_SUMMARY = ("summary = '', summary_through = '', summary_count = 0, "
               "summary_gen = summary_gen + 1")


class SQLiteMessageStore:
    def __init__(
        self, path: str | Path, *, ttl_seconds: int, clock: Callable[[], float] = time.time,
        claim_ttl_seconds: int = 3600, takeover_seconds: int = 300,
    ) -> None:
        self.db = SQLiteDatabase(path, SCHEMA)
        self.ttl_seconds = ttl_seconds
        self.clock = clock
        self.claim_ttl_seconds = claim_ttl_seconds
        self.takeover_seconds = takeover_seconds
        self._purged_at = -FOREVER
        self._add_missing_columns()

    def append(
        self, session_id: str, messages: Sequence[StoredMessage], *, guarded: bool = False
    ) -> int:
        now = self.clock()
        expires_at = self._expires_at(now)
        with self.db.transaction("append") as connection:
            forgotten_at = self._forgotten_at(connection, session_id) if guarded else ""
            rows = [
                (session_id, m.key, m.role, m.text, m.author_id, m.author_name, m.slack_ts,
                 json.dumps(m.metadata), now, expires_at, m.edited_ts)
                for m in messages
                if not forgotten_at or padded_ts(ts_of_key(m.key)) > padded_ts(forgotten_at)
            ]
            before = connection.total_changes
            connection.executemany(
                "INSERT OR IGNORE INTO messages (session_id, message_key, role, text, author_id, "
                "author_name, slack_ts, meta, created_at, expires_at, edited_ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows,
            )
            new = connection.total_changes - before
        self._purge_now_and_then(now)
        return new

    def claim(
        self, session_id: str, key: str, *, message: StoredMessage | None, done: bool = False
    ) -> ClaimState:
        now = self.clock()
        status = DONE if done else IN_PROGRESS
        with self.db.transaction("claim") as connection:
            forgotten_at = self._forgotten_at(connection, session_id)
            if forgotten_at and padded_ts(ts_of_key(key)) <= padded_ts(forgotten_at):
                return ClaimState.DONE  # written before the thread was forgotten
            row = connection.execute(
                "SELECT claim_status, claimed_at, expires_at FROM messages WHERE session_id = ? "
                "AND message_key = ?", (session_id, key),
            ).fetchone()
            if row is not None:
                held, claimed_at, expires_at = row[0] or DONE, row[1], row[2]
                live = expires_at is None or expires_at > now
                if live and held != IN_PROGRESS:
                    return ClaimState.DONE
                if live and claimed_at >= now - self.takeover_seconds:
                    return ClaimState.IN_PROGRESS
                # Expired, or its worker is presumed dead: the key is free again.
                connection.execute("DELETE FROM messages WHERE session_id = ? AND message_key = ?",
                                   (session_id, key))
            values: tuple[Any, ...]
            if message is None:
                values = (session_id, key, "", "", "", "", "", "{}", now,
                          now + self.claim_ttl_seconds, "")
            else:
                values = (session_id, key, message.role, message.text, message.author_id,
                          message.author_name, message.slack_ts, json.dumps(message.metadata),
                          now, self._expires_at(now), message.edited_ts)
            connection.execute(
                "INSERT INTO messages (session_id, message_key, role, text, author_id, "
                "author_name, slack_ts, meta, created_at, expires_at, edited_ts, claim_status, "
                "claimed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (*values, status, now),
            )
        return ClaimState.CLAIMED

    def complete(
        self, session_id: str, key: str, *, answer: StoredMessage | None = None,
        usage: UsageRecord | None = None,
    ) -> bool:
        now = self.clock()
        with self.db.transaction("complete") as connection:
            cursor = connection.execute(
                "UPDATE messages SET claim_status = ? WHERE session_id = ? AND message_key = ? "
                "AND deleted = 0", (DONE, session_id, key),
            )
            if answer is None:
                return cursor.rowcount > 0
            forgotten_at = self._forgotten_at(connection, session_id)
            if cursor.rowcount == 0 or (
                forgotten_at and padded_ts(ts_of_key(answer.key)) <= padded_ts(forgotten_at)
            ):
                return False  # the question is gone: deleted, or its thread forgotten
            connection.execute(
                "INSERT OR IGNORE INTO messages (session_id, message_key, role, text, author_id, "
                "author_name, slack_ts, meta, created_at, expires_at, edited_ts) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (session_id, answer.key, answer.role, answer.text, answer.author_id,
                 answer.author_name, answer.slack_ts, json.dumps(answer.metadata), now,
                 self._expires_at(now), answer.edited_ts),
            )
            if usage is not None and connection.execute("SELECT changes()").fetchone()[0]:
                _add_usage(connection, usage)  # once: a retried completion stores nothing
        return True

    def release(self, session_id: str, key: str) -> None:
        with self.db.transaction("release") as connection:
            connection.execute(
                "UPDATE messages SET claimed_at = 0 WHERE session_id = ? AND message_key = ? "
                "AND claim_status = ?", (session_id, key, IN_PROGRESS),
            )

    def recent(
        self, session_id: str, *, token_budget: int, before_key: str | None = None
    ) -> RecentHistory:
        history = take_within_budget(self._newest_first(session_id, before_key), token_budget)
        return RecentHistory(history.messages, history.has_older, self._state(session_id))

    def between(
        self, session_id: str, *, from_key: str, before_key: str, token_budget: int
    ) -> tuple[list[StoredMessage], str]:
        def oldest_first() -> Iterator[StoredMessage]:
            after = None
            while True:
                rows = self.db.read(
                    "read",
                    f"SELECT {_COLUMNS} FROM messages WHERE session_id = ? AND message_key >= ? "
                    f"AND message_key < ? AND message_key > ? AND {_LIVE} ORDER BY message_key "
                    "LIMIT ?",
                    (session_id, from_key, before_key, after or "", self.clock(),
                     RECENT_PAGE_SIZE),
                )
                yield from (_message(row) for row in rows)
                if len(rows) < RECENT_PAGE_SIZE:
                    return
                after = rows[-1][0]

        return take_oldest_within_budget(oldest_first(), token_budget)

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

    def edit(self, session_id: str, key: str, *, text: str, edited_ts: str) -> bool:
        with self.db.transaction("edit") as connection:
            cursor = connection.execute(
                f"UPDATE messages SET text = ?, edited_ts = ? WHERE session_id = ? "
                f"AND message_key = ? AND {_LIVE} AND (edited_ts = '' OR edited_ts < ?)",
                (text, padded_ts(edited_ts), session_id, key, self.clock(), padded_ts(edited_ts)),
            )
            return cursor.rowcount > 0

    def delete(self, session_id: str, keys: Sequence[str]) -> int:
        with self.db.transaction("delete") as connection:
            cursor = connection.executemany(
                f"UPDATE messages SET {_TOMBSTONE} "
                "WHERE session_id = ? AND message_key = ? AND deleted = 0 AND role != ''",
                [(session_id, key) for key in keys],
            )
            return cursor.rowcount

    def mark_backfill(self, session_id: str, *, state: str, before_ts: str) -> None:
        expires_at = self._expires_at(self.clock())
        with self.db.transaction("mark backfill") as connection:
            connection.execute(
                "INSERT INTO session_state (session_id, backfill, backfill_before, "
                "backfill_expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (session_id) DO UPDATE "
                "SET backfill = excluded.backfill, backfill_before = excluded.backfill_before, "
                "backfill_expires_at = excluded.backfill_expires_at",
                (session_id, state, before_ts, expires_at),
            )

    def forget(self, session_id: str) -> int:
        with self.db.transaction("forget") as connection:
            connection.execute(
                "INSERT INTO session_state (session_id, forgotten_at) VALUES (?, ?) "
                "ON CONFLICT (session_id) DO UPDATE SET forgotten_at = excluded.forgotten_at, "
                f"backfill = '', backfill_before = '', {_NO_SUMMARY}",
                (session_id, self._now_ts()),
            )
            cursor = connection.execute(
                f"DELETE FROM messages WHERE session_id = ? AND {_LIVE}", (session_id, self.clock())
            )
            connection.execute("DELETE FROM messages WHERE session_id = ?", (session_id,))
            return cursor.rowcount

    def forget_author(self, author_id: str) -> ForgetReport:
        with self.db.transaction("forget author") as connection:
            connection.execute(
                "INSERT OR REPLACE INTO forgotten_authors VALUES (?, ?)", (author_id, self._now_ts())
            )
            rows = connection.execute(
                f"SELECT session_id, message_key FROM messages WHERE author_id = ? AND {_LIVE}",
                (author_id, self.clock()),
            ).fetchall()
            doomed = [(session, key) for session, key in rows]
            doomed += [(session, sort_key(ts_of_key(key), ANSWER_SLOT)) for session, key in rows]
            # Tombstones, as for deletions: no late write brings either back.
            connection.executemany(
                f"UPDATE messages SET {_TOMBSTONE} WHERE session_id = ? AND message_key = ?", doomed
            )
            # A row for every thread, so a summary being built for one without a row yet is
            # refused too.
            connection.executemany(
                "INSERT INTO session_state (session_id) VALUES (?) "
                f"ON CONFLICT (session_id) DO UPDATE SET {_NO_SUMMARY}",
                [(session,) for session in {session for session, _ in rows}],
            )
            connection.executemany(
                "UPDATE session_state SET summary_gen = summary_gen + 1 WHERE session_id = ?",
                [(session,) for session in {session for session, _ in rows}],
            )
            # Their day counters join the day's anonymous ones: the totals stay true.
            connection.execute(
                f"INSERT INTO usage (day, user_id, session_id, model_id, {_USAGE_COUNTS}) "
                f"SELECT day, '', session_id, model_id, {_USAGE_COUNTS} FROM usage "
                f"WHERE user_id = ? AND true {_USAGE_UPSERT}",  # AND true: SQLite's upsert rule
                (author_id,),
            )
            usage_rows = connection.execute("DELETE FROM usage WHERE user_id = ?",
                                            (author_id,)).rowcount
        return ForgetReport(messages=len(rows), sessions=len({session for session, _ in rows}),
                            usage_rows=usage_rows)

    def forgotten_authors(self, author_ids: Sequence[str]) -> dict[str, str]:
        wanted = list(dict.fromkeys(author_ids))
        if not wanted:
            return {}
        marks = ", ".join("?" * len(wanted))
        rows = self.db.read(
            "read forgotten authors",
            f"SELECT author_id, forgotten_at FROM forgotten_authors WHERE author_id IN ({marks})",
            tuple(wanted),
        )
        return {author: at for author, at in rows}

    def sessions(self, *, prefix: str = "", limit: int = 50) -> list[str]:
        rows = self.db.read(
            "list sessions",
            f"SELECT session_id FROM messages WHERE substr(session_id, 1, ?) = ? AND {_LIVE} "
            "GROUP BY session_id ORDER BY MAX(created_at) DESC, session_id LIMIT ?",
            (len(prefix), prefix, self.clock(), limit),
        )
        return [row[0] for row in rows]

    def save_summary(self, session_id: str, summary: Summary) -> bool:
        with self.db.transaction("save summary") as connection:
            forgotten_at = self._forgotten_at(connection, session_id)
            if forgotten_at and padded_ts(ts_of_key(summary.through)) <= padded_ts(forgotten_at):
                return False
            connection.execute(
                "INSERT INTO session_state (session_id) VALUES (?) ON CONFLICT DO NOTHING",
                (session_id,),
            )
            cursor = connection.execute(
                "UPDATE session_state SET summary = ?, summary_through = ?, summary_count = ?, "
                "summary_expires_at = ? WHERE session_id = ? AND summary_gen = ?",
                (summary.text, summary.through, summary.count, self._expires_at(self.clock()),
                 session_id, summary.generation),
            )
            return cursor.rowcount > 0

    def invalidate_summary(self, session_id: str, *, changed_key: str) -> None:
        with self.db.transaction("invalidate summary") as connection:
            connection.execute(
                "INSERT INTO session_state (session_id) VALUES (?) ON CONFLICT DO NOTHING",
                (session_id,),
            )
            connection.execute(
                "UPDATE session_state SET summary_gen = summary_gen + 1 WHERE session_id = ?",
                (session_id,),
            )
            connection.execute(
                f"UPDATE session_state SET {_NO_SUMMARY} WHERE session_id = ? "
                "AND summary != '' AND summary_through > ?", (session_id, changed_key),
            )

    def add_usage(self, record: UsageRecord) -> None:
        with self.db.transaction("add usage") as connection:
            _add_usage(connection, record)
        self._purge_now_and_then(self.clock())

    def usage(self, days: Sequence[str], *, user_id: str = "") -> list[UsageRecord]:
        if not days:
            return []
        marks = ", ".join("?" * len(days))
        mine = " AND user_id = ?" if user_id else ""
        rows = self.db.read(
            "read usage",
            f"SELECT day, session_id, user_id, model_id, {', '.join(_USAGE_COLUMNS)}, answers, "
            f"summaries FROM usage WHERE day IN ({marks}){mine} ORDER BY day, user_id, session_id",
            (*days, *((user_id,) if user_id else ())),
        )
        return [
            UsageRecord(day=day, session_id=session, user_id=user,
                        usage=Usage(model_id=model, **dict(zip(_USAGE_COLUMNS, counts[:5], strict=True))),
                        answers=counts[5], summaries=counts[6])
            for day, session, user, model, *counts in rows
        ]

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

    def _state(self, session_id: str) -> SessionState:
        rows = self.db.read(
            "read state",
            "SELECT backfill, backfill_before, backfill_expires_at, forgotten_at, summary, "
            "summary_through, summary_count, summary_gen, summary_expires_at "
            "FROM session_state WHERE session_id = ?", (session_id,),
        )
        if not rows:
            return SessionState()
        backfill, before, expires_at, forgotten_at, text, through, count, gen, summary_expires = rows[0]
        now = self.clock()
        if expires_at is not None and expires_at <= now:
            backfill, before = "", ""  # expired with the messages it read
        if summary_expires is not None and summary_expires <= now:
            text = ""
        summary = Summary(text=text, through=through, count=count, generation=gen) if text \
            else Summary(generation=gen)
        return SessionState(backfill=backfill, backfill_before=before,
                            forgotten_at=forgotten_at, summary=summary)

    def _forgotten_at(self, connection: Any, session_id: str) -> str:
        row = connection.execute(
            "SELECT forgotten_at FROM session_state WHERE session_id = ?", (session_id,)
        ).fetchone()
        return str(row[0]) if row else ""

    def _expires_at(self, now: float) -> int | None:
        return int(now) + self.ttl_seconds if self.ttl_seconds > 0 else None

    def _now_ts(self) -> str:
        return f"{self.clock():.6f}"

    def _purge_now_and_then(self, now: float) -> None:
        if now - self._purged_at < PURGE_INTERVAL_SECONDS:
            return
        self._purged_at = now
        with self.db.transaction("purge expired") as connection:
            connection.execute("DELETE FROM messages WHERE expires_at <= ?", (now,))
            connection.execute("DELETE FROM usage WHERE day < ?",
                               (utc_day(now - USAGE_DAYS_KEPT * 86400),))

    def _add_missing_columns(self) -> None:
        with self.db.transaction("upgrade schema") as connection:
            for table, columns in _ADDED_COLUMNS.items():
                present = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
                for name, definition in columns.items():
                    if name not in present:
                        connection.execute(f"ALTER TABLE {table} ADD COLUMN {name} {definition}")


def _message(row: tuple[Any, ...]) -> StoredMessage:
    key, role, text, author_id, author_name, slack_ts, meta, edited_ts = row
    kind: Role = "ai" if role == "ai" else "human"
    return StoredMessage(key, kind, text, author_id, author_name, slack_ts, json.loads(meta),
                         edited_ts=ts_of_key(edited_ts) if edited_ts else "")


def _add_usage(connection: sqlite3.Connection, record: UsageRecord) -> None:
    values = [getattr(record.usage, name) for name in _USAGE_COLUMNS]
    connection.execute(
        f"INSERT INTO usage (day, user_id, session_id, model_id, {_USAGE_COUNTS}) "
        f"VALUES (?, ?, ?, ?, {', '.join('?' * len(_USAGE_FIELDS))}) {_USAGE_UPSERT}",
        (record.day, record.user_id, record.session_id, record.usage.model_id, *values,
         record.answers, record.summaries),
    )
