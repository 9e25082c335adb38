"""One SQLite connection per store, shared by threads under a lock.

SQLite runs one writer at a time anyway; a lock in front of a single connection keeps it
simple and makes `:memory:` databases work (each connection to `:memory:` is a new database).
WAL mode and a busy timeout let several processes share the file.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from bot.core.ports import StoreUnavailable

BUSY_TIMEOUT_SECONDS = 10


class SQLiteDatabase:
    def __init__(self, path: str | Path, schema: str) -> None:
        self.path = str(path)
        if self.path != ":memory:":
            # Threads are private: only the bot's own user may read the file (and SQLite gives
            # its -wal and -shm files the same mode).
            Path(self.path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            os.chmod(self.path, 0o600)
        self._lock = threading.RLock()
        with self._errors("open"):
            self._connection = sqlite3.connect(
                self.path, timeout=BUSY_TIMEOUT_SECONDS, check_same_thread=False,
                isolation_level=None,  # autocommit; transactions are explicit below
            )
            self._connection.execute("PRAGMA journal_mode=WAL")
            self._connection.execute("PRAGMA synchronous=NORMAL")
            self._connection.executescript(schema)

    @contextmanager
    def transaction(self, action: str) -> Iterator[sqlite3.Connection]:
        """An IMMEDIATE transaction: takes the write lock up front, so it never deadlocks."""
        with self._lock, self._errors(action):
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                yield self._connection
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise
            self._connection.execute("COMMIT")

    def read(self, action: str, sql: str, parameters: tuple[object, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock, self._errors(action):
            return self._connection.execute(sql, parameters).fetchall()

    def close(self) -> None:
        with self._lock:
            self._connection.close()

    @contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as error:
            raise StoreUnavailable(f"SQLite store {self.path}: {action} failed: {error}") from error
