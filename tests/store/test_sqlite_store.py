"""What only the SQLite backend has: a file shared by processes, purging, plain paths."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from bot.core.ports import ClaimState
from bot.core.records import StoredMessage
from bot.store.sqlite import PURGE_INTERVAL_SECONDS, SQLiteMessageStore
from tests.store.conftest import FakeClock


def count_rows(path: Path) -> int:
    with sqlite3.connect(path) as connection:
        return int(connection.execute("SELECT COUNT(*) FROM messages").fetchone()[0])


def test_processes_sharing_one_file_claim_each_message_once(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "dir" / "bot.sqlite3"
    stores = [SQLiteMessageStore(path, ttl_seconds=0) for _ in range(2)]  # two connections
    start = threading.Barrier(8)
    outcomes: list[ClaimState] = []

    def work(worker: int) -> None:
        start.wait()
        for turn in range(10):
            message = StoredMessage.human(ts=f"{turn}.{worker % 4:06d}", text="q")
            outcomes.append(stores[worker % 2].claim("T:C:1", message.key, message=message))

    threads = [threading.Thread(target=work, args=(w,)) for w in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    # Workers w and w + 4 write the same 10 messages: 40 claimed, 40 found taken.
    assert outcomes.count(ClaimState.CLAIMED) == 40
    assert len(SQLiteMessageStore(path, ttl_seconds=0).all("T:C:1")) == 40


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
