"""Every event of a thread goes to the same worker: the thread is read from every shape."""

from __future__ import annotations

import pytest

from bot.serving.route import thread_of, worker_for, workers_for
from tests.fakes.signing import (
    app_mention,
    assistant_thread_started,
    block_action,
    event_callback,
    message,
    message_changed,
    message_deleted,
    message_shortcut,
)

ROOT = "1700000001.000100"


@pytest.mark.parametrize("payload", [
    event_callback(app_mention(channel="C1", ts=ROOT)),
    event_callback(app_mention(channel="C1", ts="1700000009.000100", thread_ts=ROOT)),
    event_callback(message(channel="C1", ts="1700000009.000100", thread_ts=ROOT)),
    event_callback(message_changed(channel="C1", ts="1700000009.000100", thread_ts=ROOT, text="x")),
    event_callback(message_changed(channel="C1", ts=ROOT, text="edited root")),
    event_callback(message_deleted(channel="C1", ts="1700000009.000100", thread_ts=ROOT)),
    event_callback(message_deleted(channel="C1", ts=ROOT)),
    event_callback(assistant_thread_started(channel="C1", thread_ts=ROOT)),
    block_action(action_id="x", channel="C1", message_ts="1700000009.000100", thread_ts=ROOT),
    message_shortcut(callback_id="x", channel="C1", message_ts=ROOT),
], ids=["mention", "mention in thread", "reply", "edit", "root edit", "deletion", "root deletion",
        "assistant thread", "button", "shortcut"])
def test_every_shape_names_its_thread(payload):
    assert thread_of(payload) == f"C1:{ROOT}"
    assert worker_for(payload, 3) == worker_for(event_callback(app_mention(channel="C1", ts=ROOT)), 3)


def test_threads_spread_over_the_workers_and_the_rest_round_robin():
    chosen = {worker_for(event_callback(app_mention(channel=f"C{n}", ts=ROOT)), 4) for n in range(40)}
    assert chosen == {0, 1, 2, 3}
    nameless = {"type": "event_callback", "event": {"type": "team_join", "user": {}}}
    assert [worker_for(nameless, 4, fallback=n) for n in range(5)] == [0, 1, 2, 3, 0]


def test_a_files_events_go_to_every_worker_and_a_threads_to_one():
    deleted = event_callback({"type": "file_deleted", "file_id": "F1", "event_ts": ROOT})
    unshared = event_callback({"type": "file_unshared", "file_id": "F1", "file": {"id": "F1"}})
    mention = event_callback(app_mention(channel="C1", ts=ROOT))

    assert workers_for(deleted, 3) == workers_for(unshared, 3) == [0, 1, 2]
    assert workers_for(mention, 3) == [worker_for(mention, 3)]
