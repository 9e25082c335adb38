"""Summaries and usage counters, on every backend: a summary is kept only over the thread it was
built from, counters add up exactly, and the reads a turn makes for them."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from bot.core.ports import MessageStore
from bot.core.records import StoredMessage, Summary, Usage, UsageRecord, sort_key
from tests.store.conftest import FakeClock, StoreFactory

SESSION = "T1:C1:1700000000.000100"
OTHER = "T1:C2:1700000000.000200"


def ts(n: int) -> str:
    return f"{1700000000 + n}.000100"


def thread(store: MessageStore, turns: int, session: str = SESSION, author: str = "U1") -> None:
    for n in range(1, turns + 1):
        store.append(session, [
            StoredMessage.human(ts=ts(n), text=f"question {n}", author_id=author),
            StoredMessage.answer(question_ts=ts(n), text=f"answer {n}"),
        ])


def summary_of(store: MessageStore, session: str = SESSION) -> Summary:
    return store.recent(session, token_budget=10_000).state.summary


def test_a_summary_is_read_with_the_history_and_replaced_by_its_extension(
    store: MessageStore,
) -> None:
    thread(store, 5)
    assert summary_of(store) == Summary()

    assert store.save_summary(SESSION, Summary("first two turns", sort_key(ts(3)), 4))
    assert summary_of(store) == Summary("first two turns", sort_key(ts(3)), 4)
    assert store.save_summary(SESSION, Summary("first four turns", sort_key(ts(5)), 8))
    assert summary_of(store) == Summary("first four turns", sort_key(ts(5)), 8)
    assert summary_of(store).covers(sort_key(ts(4))) and not summary_of(store).covers(sort_key(ts(5)))
    assert summary_of(store, OTHER) == Summary()


def test_a_change_to_a_summarised_message_drops_the_summary_and_refuses_ones_being_built(
    store: MessageStore,
) -> None:
    thread(store, 5)
    store.save_summary(SESSION, Summary("mentions the token", sort_key(ts(3)), 4))
    being_built = Summary("built before the deletion", sort_key(ts(4)), 6,
                          generation=summary_of(store).generation)

    store.invalidate_summary(SESSION, changed_key=sort_key(ts(1)))

    assert summary_of(store).text == ""
    assert not store.save_summary(SESSION, being_built)
    assert summary_of(store).text == ""
    rebuilt = Summary("without the token", sort_key(ts(3)), 3,
                      generation=summary_of(store).generation)
    assert store.save_summary(SESSION, rebuilt)
    assert summary_of(store).text == "without the token"


def test_a_change_after_the_summary_keeps_it_but_still_refuses_ones_being_built(
    store: MessageStore,
) -> None:
    thread(store, 5)
    store.save_summary(SESSION, Summary("early turns", sort_key(ts(3)), 4))
    being_built = Summary("older generation", sort_key(ts(5)), 8,
                          generation=summary_of(store).generation)

    store.invalidate_summary(SESSION, changed_key=sort_key(ts(4)))

    assert summary_of(store).text == "early turns"
    assert not store.save_summary(SESSION, being_built)
    # A thread that never had a summary can be changed too; its first summary is then kept.
    store.invalidate_summary(OTHER, changed_key=sort_key(ts(1)))
    assert store.save_summary(OTHER, Summary("x", sort_key(ts(2)), 1,
                                             generation=summary_of(store, OTHER).generation))


def test_forget_deletes_the_summary_and_refuses_one_built_before_it(
    store: MessageStore, clock: FakeClock,
) -> None:
    thread(store, 5)
    store.save_summary(SESSION, Summary("early turns", sort_key(ts(3)), 4))
    store.forget(SESSION)

    assert summary_of(store).text == ""
    assert not store.save_summary(SESSION, Summary("late", sort_key(ts(4)), 6,
                                                   generation=summary_of(store).generation))
    assert summary_of(store).text == ""


def test_forgetting_a_person_drops_the_summaries_of_their_threads(store: MessageStore) -> None:
    thread(store, 3, SESSION, author="U_BOB")
    thread(store, 3, OTHER, author="U_ANA")
    store.save_summary(SESSION, Summary("Bob said things", sort_key(ts(2)), 2))
    store.save_summary(OTHER, Summary("Ana said things", sort_key(ts(2)), 2))

    store.forget_author("U_BOB")

    assert summary_of(store, SESSION).text == ""
    assert summary_of(store, OTHER).text == "Ana said things"


def test_a_summary_expires_with_the_thread(make_store: StoreFactory, clock: FakeClock) -> None:
    store = make_store(ttl_seconds=60)
    thread(store, 3)
    store.save_summary(SESSION, Summary("early", sort_key(ts(2)), 2))
    clock.advance(61)

    assert summary_of(store).text == ""


def test_between_reads_the_oldest_messages_of_a_range_within_a_budget(store: MessageStore) -> None:
    thread(store, 50)

    got, cut_at = store.between(SESSION, from_key=sort_key(ts(10)), before_key=sort_key(ts(40)),
                                token_budget=30)
    assert [m.text for m in got][:2] == ["question 10", "answer 10"]
    assert 5 <= len(got) < 20
    # Where the read stopped: the next message of the range, not one of those read.
    assert cut_at > got[-1].key and cut_at == next(
        m.key for m in store.all(SESSION) if m.key > got[-1].key)
    everything, cut_at = store.between(SESSION, from_key="", before_key=sort_key(ts(3)),
                                       token_budget=10_000)
    assert [m.text for m in everything] == ["question 1", "answer 1", "question 2", "answer 2"]
    assert cut_at == ""
    # At least one message, however small the budget.
    one, cut_at = store.between(SESSION, from_key="", before_key=sort_key(ts(3)), token_budget=1)
    assert len(one) == 1 and cut_at == one[0].key.replace("#0", "#1")


def usage(**counts: int) -> Usage:
    return Usage(model_id="us.anthropic.claude-sonnet-4-6", **counts)


def test_usage_counters_add_up_per_day_person_thread_and_model(store: MessageStore) -> None:
    day = "2026-12-02"
    for _ in range(3):
        store.add_usage(UsageRecord(day, SESSION, "U1", usage(input_tokens=10, output_tokens=5,
                                                              cache_read_tokens=100,
                                                              latency_ms=7), answers=1))
    store.add_usage(UsageRecord(day, SESSION, "U1", usage(input_tokens=50, output_tokens=20),
                                summaries=1))
    store.add_usage(UsageRecord(day, OTHER, "U2", usage(cache_write_tokens=9), answers=1))
    store.add_usage(UsageRecord("2026-12-01", SESSION, "U1", usage(input_tokens=1), answers=1))

    rows = sorted(store.usage([day]), key=lambda r: r.user_id)
    assert [(r.user_id, r.session_id, r.answers, r.summaries) for r in rows] == [
        ("U1", SESSION, 3, 1), ("U2", OTHER, 1, 0)]
    assert rows[0].usage == usage(input_tokens=80, output_tokens=35, cache_read_tokens=300,
                                  latency_ms=21)
    assert rows[1].usage == usage(cache_write_tokens=9)
    assert [r.day for r in store.usage(["2026-12-01", day], user_id="U1")] == [
        "2026-12-01", day]
    assert store.usage(["2026-11-30"]) == []


def test_usage_counters_are_exact_under_concurrent_turns(store: MessageStore) -> None:
    def add(_: int) -> None:
        store.add_usage(UsageRecord("2026-12-02", SESSION, "U1", usage(output_tokens=3),
                                    answers=1))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(add, range(40)))

    (row,) = store.usage(["2026-12-02"])
    assert row.answers == 40 and row.usage.output_tokens == 120


def test_forgetting_a_person_counts_their_usage_as_nobodys(store: MessageStore) -> None:
    thread(store, 2, SESSION, author="U_BOB")
    for day, who, tokens in (("2026-12-01", "U_BOB", 10), ("2026-12-02", "U_BOB", 20),
                             ("2026-12-02", "U_ANA", 40), ("2026-12-02", "", 5)):
        store.add_usage(UsageRecord(day, SESSION, who, usage(input_tokens=tokens), answers=1))

    report = store.forget_author("U_BOB")

    assert report.usage_rows == 2
    rows = store.usage(["2026-12-01", "2026-12-02"])
    assert sorted((r.day, r.user_id, r.usage.input_tokens, r.answers) for r in rows) == [
        ("2026-12-01", "", 10, 1), ("2026-12-02", "", 25, 2), ("2026-12-02", "U_ANA", 40, 1)]
    assert store.usage(["2026-12-01", "2026-12-02"], user_id="U_BOB") == []
    assert store.forget_author("U_BOB").usage_rows == 0
    assert sum(r.usage.input_tokens for r in store.usage(["2026-12-01", "2026-12-02"])) == 75


def test_an_answers_usage_is_counted_in_the_write_that_stores_it_and_only_once(
    store: MessageStore,
) -> None:
    day = "2026-12-02"
    for n in (1, 2):
        store.claim(SESSION, sort_key(ts(n)),
                    message=StoredMessage.human(ts=ts(n), text=f"question {n}", author_id="U1"))
    record = UsageRecord(day, SESSION, "U1", usage(input_tokens=100, output_tokens=7), answers=1)

    def answer(n: int) -> StoredMessage:
        return StoredMessage.answer(question_ts=ts(n), text=f"answer {n}")

    assert store.complete(SESSION, sort_key(ts(1)), answer=answer(1), usage=record)
    # A completion tried again (its first response was lost) stores and counts nothing more.
    assert store.complete(SESSION, sort_key(ts(1)), answer=answer(1), usage=record)
    # A question deleted while it was answered: the answer is refused, and so is its count.
    store.delete(SESSION, [sort_key(ts(2))])
    assert not store.complete(SESSION, sort_key(ts(2)), answer=answer(2), usage=record)

    (row,) = store.usage([day])
    assert (row.answers, row.usage.input_tokens, row.usage.output_tokens) == (1, 100, 7)
    assert [m.text for m in store.all(SESSION)] == ["question 1", "answer 1"]
