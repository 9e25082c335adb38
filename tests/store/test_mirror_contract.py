"""The thread as it is now, on every backend: edits, deletions, forget markers, backfill state."""

from __future__ import annotations

from bot.core.ports import MessageStore
from bot.core.records import (
    BACKFILL_DONE,
    BACKFILL_PENDING,
    SessionState,
    StoredMessage,
    sort_key,
)
from tests.store.conftest import FakeClock

SESSION = "T1:C1:1700000000.000100"
OTHER = "T1:C2:1700000000.000200"
# The stores' clock reads 1_800_000_000: messages with these ts were written before "now".
EARLY, LATER = "1700000001.000100", "1700000002.000100"
AFTER_NOW = "1800000100.000100"


def human(ts: str, text: str = "", author: str = "U1") -> StoredMessage:
    return StoredMessage.human(ts=ts, text=text or f"question at {ts}", author_id=author,
                               author_name="Ann")


def answer(question_ts: str, text: str = "") -> StoredMessage:
    return StoredMessage.answer(question_ts=question_ts, text=text or f"answer to {question_ts}",
                                posted_ts=question_ts + "9")


def texts(store: MessageStore, session: str = SESSION) -> list[str]:
    return [m.text for m in store.all(session)]


def test_an_edit_replaces_the_text_and_the_newest_edit_wins(store: MessageStore) -> None:
    store.append(SESSION, [human(EARLY, "the launch is on Monday")])
    key = sort_key(EARLY)

    assert store.edit(SESSION, key, text="the launch is on Thursday", edited_ts="1700000050.000001")
    # An older state arriving late (events out of order) changes nothing.
    assert not store.edit(SESSION, key, text="the launch is on Tuesday", edited_ts="1700000040.0")
    assert not store.edit(SESSION, key, text="same moment", edited_ts="1700000050.000001")

    (stored,) = store.all(SESSION)
    assert stored.text == "the launch is on Thursday"
    assert stored.edited_ts == "1700000050.000001"
    assert [m.text for m in store.recent(SESSION, token_budget=10_000).messages] == [stored.text]


def test_an_edit_of_a_message_never_stored_is_ignored(store: MessageStore) -> None:
    assert not store.edit(SESSION, sort_key(EARLY), text="x", edited_ts=LATER)
    assert store.all(SESSION) == []
    assert not store.has_session(SESSION)


def test_a_deleted_message_is_gone_and_no_late_write_brings_it_back(store: MessageStore) -> None:
    store.append(SESSION, [human(EARLY, "my token is xoxp-123"), answer(EARLY), human(LATER)])

    assert store.delete(SESSION, [sort_key(EARLY), sort_key(EARLY, "1")]) == 2
    assert texts(store) == [f"question at {LATER}"]
    assert store.delete(SESSION, [sort_key(EARLY)]) == 0  # already gone
    # A retried delivery of the deleted message, an edit of it: neither resurrects it.
    assert store.append(SESSION, [human(EARLY, "my token is xoxp-123")]) == 0
    assert store.append(SESSION, [human(EARLY, "again")], guarded=True) == 0
    assert not store.edit(SESSION, sort_key(EARLY), text="xoxp-123", edited_ts=AFTER_NOW)
    assert "xoxp-123" not in " ".join(texts(store))
    history = store.recent(SESSION, token_budget=10_000)
    assert [m.text for m in history.messages] == [f"question at {LATER}"]


def test_deleting_everything_leaves_no_session(store: MessageStore) -> None:
    store.append(SESSION, [human(EARLY)])
    assert store.delete(SESSION, [sort_key(EARLY), "never-stored#0"]) == 1
    assert not store.has_session(SESSION)
    assert store.sessions() == []


def test_a_deleted_oversized_answer_is_gone_whole(store: MessageStore) -> None:
    big = answer(EARLY, "é" * 400_000)  # parts on DynamoDB
    store.append(SESSION, [human(EARLY), big])
    assert store.delete(SESSION, [big.key]) == 1
    assert texts(store) == [f"question at {EARLY}"]
    assert store.append(SESSION, [big]) == 0


def test_backfill_state_is_read_with_the_history(store: MessageStore) -> None:
    assert store.recent(SESSION, token_budget=100).state == SessionState()
    store.mark_backfill(SESSION, state=BACKFILL_PENDING, before_ts=LATER)
    store.append(SESSION, [human(LATER)])
    state = store.recent(SESSION, token_budget=100, before_key=sort_key(LATER)).state
    assert (state.backfill, state.backfill_before) == (BACKFILL_PENDING, LATER)
    store.mark_backfill(SESSION, state=BACKFILL_DONE, before_ts=LATER)
    assert store.recent(SESSION, token_budget=100).state.backfill == BACKFILL_DONE
    assert store.recent(OTHER, token_budget=100).state == SessionState()
    assert store.all(SESSION) == [human(LATER)]  # state is no message
    assert store.sessions() == [SESSION]


def test_forget_leaves_a_marker_that_refuses_anything_older(
    store: MessageStore, clock: FakeClock
) -> None:
    store.append(SESSION, [human(EARLY), answer(EARLY)])
    store.mark_backfill(SESSION, state=BACKFILL_DONE, before_ts=EARLY)

    assert store.forget(SESSION) == 2
    state = store.recent(SESSION, token_budget=100).state
    assert state.backfill == "" and state.forgotten_at == f"{clock.now:.6f}"
    assert state.forgot(LATER) and not state.forgot(AFTER_NOW)
    # A turn still answering, an answer held back during an outage: refused.
    assert store.append(SESSION, [answer(LATER)], guarded=True) == 0
    # What is written after the forget is remembered again.
    assert store.append(SESSION, [human(AFTER_NOW), answer(AFTER_NOW)], guarded=True) == 2
    assert texts(store) == [f"question at {AFTER_NOW}", f"answer to {AFTER_NOW}"]
    assert store.sessions() == [SESSION]
    assert store.forget(SESSION) == 2
    assert store.sessions() == []


def test_a_guarded_thread_read_writes_what_is_new_and_nothing_from_before_a_forget(
    store: MessageStore,
) -> None:
    read = [human(f"{1700000100 + i}.000100", f"reply {i}") for i in range(150)]  # > 1 transaction
    read.insert(70, answer("1700000169.000100", "é" * 400_000))  # in parts on DynamoDB
    store.append(SESSION, [human(EARLY, "already here"), human(LATER, "my token")])
    store.delete(SESSION, [sort_key(LATER)])

    assert store.append(SESSION, [human(EARLY, "again"), human(LATER, "my token"), *read],
                        guarded=True) == 151
    assert texts(store) == ["already here", *[m.text for m in sorted(read, key=lambda m: m.key)]]

    store.forget(SESSION)  # while a turn was reading the thread: what it read stays forgotten
    assert store.append(SESSION, read, guarded=True) == 0
    assert store.append(SESSION, [*read[:3], human(AFTER_NOW, "after")], guarded=True) == 1
    twice = human("1800000200.000100", "twice")  # a message given twice is written once
    assert store.append(SESSION, [twice, twice], guarded=True) == 1
    assert texts(store) == ["after", "twice"]


def test_unguarded_appends_ignore_the_marker(store: MessageStore) -> None:
    store.forget(SESSION)
    assert store.append(SESSION, [human(EARLY)]) == 1  # LangChain's interface, imports


def test_forgetting_a_person_removes_their_messages_and_the_answers_everywhere(
    store: MessageStore,
) -> None:
    store.append(SESSION, [human(EARLY, "Bob's secret", author="U_BOB"), answer(EARLY, "re secret"),
                           human(LATER, "Ana asks", author="U_ANA"), answer(LATER)])
    store.append(OTHER, [human(EARLY, "Bob again", author="U_BOB"), answer(EARLY)])

    report = store.forget_author("U_BOB")

    assert (report.messages, report.sessions) == (2, 2)
    assert texts(store) == ["Ana asks", f"answer to {LATER}"]
    assert texts(store, OTHER) == []
    assert store.forgotten_authors(["U_BOB", "U_ANA", "U_BOB"]) == {"U_BOB": "1800000000.000000"}
    assert store.forgotten_authors([]) == {}
    assert store.append(SESSION, [human(EARLY, "Bob's secret", author="U_BOB")]) == 0
    assert store.sessions() == [SESSION]
