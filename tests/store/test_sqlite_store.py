"""What only the SQLite backend has: a file shared with the claims, purging, plain paths."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from bot.core.ports import ClaimState
from bot.core.records import StoredMessage
from bot.store.claims import SQLiteClaimStore
from bot.store.sqlite import PURGE_INTERVAL_SECONDS, SQLiteMessageStore
from tests.store.conftest import FakeClock


def count_rows(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def test_messages_and_claims_share_one_file_under_concurrent_use(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    store = SQLiteMessageStore(path, ttl_seconds=0)
    claims = SQLiteClaimStore(path)
    start = threading.Barrier(8)
    outcomes: list[ClaimState] = []

    def work(worker: int) -> None:
        start.wait()
        for turn in range(10):
            outcomes.append(claims.claim([f"Ev{worker}-{turn}"]))
            store.append("T:C:1", [StoredMessage.human(ts=f"{turn}.{worker:06d}", text="q")])
            claims.complete([f"Ev{worker}-{turn}"])

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes == [ClaimState.CLAIMED] * 80
    assert len(SQLiteMessageStore(path, ttl_seconds=0).all("T:C:1")) == 80


def test_expired_rows_are_purged_now_and_then(tmp_path: Path, clock: FakeClock) -> None:
    path = tmp_path / "history.sqlite3"
    store = SQLiteMessageStore(path, ttl_seconds=60, clock=clock)
    store.append("T:C:1", [StoredMessage.human(ts="1.1", text="old")])
    clock.advance(PURGE_INTERVAL_SECONDS + 1)
    store.append("T:C:1", [StoredMessage.human(ts="2.1", text="new")])
    assert count_rows(path) == 1
    assert [m.text for m in store.all("T:C:1")] == ["new"]


def test_a_string_path_and_memory_both_work(tmp_path: Path) -> None:
    for path in (str(tmp_path / "a.sqlite3"), ":memory:"):
        store = SQLiteMessageStore(path, ttl_seconds=0)
        assert store.append("T:C:1", [StoredMessage.human(ts="1.1", text="q")]) == 1
        assert store.has_session("T:C:1")
        store.close()
