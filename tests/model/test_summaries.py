"""Summaries of what leaves the window, through the real conversation, SQLite store and
ChatBedrockConverse against the fake Bedrock: when they are made, what they are sent, where
they are replayed, and how edits, deletions and forgetting reach them."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bot import messages as say
from bot.config import Settings
from bot.core import conversation as conversation_module
from bot.core.files import FileRef
from bot.core.records import IncomingMessage, SessionKey
from bot.core.summary import INSTRUCTIONS
from bot.core.usage import utc_day
from bot.wiring import Dependencies, build_dependencies
from tests.fakes.bedrock import FakeBedrock, content_text

SYSTEM = "You are a test bot."
SESSION = SessionKey("T1", "C1", "100.000001")
PROFILED = SessionKey("T1", "C0PROFILED", "100.000001")
FACT = "the code name is TAPIR"
MakeSettings = Callable[..., Settings]


class Sink:
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.failures: list[str] = []

    def show_status(self) -> None: ...

    def write(self, text: str) -> None: ...

    def finish(self, *, note: str = "") -> str:
        self.notes.append(note)
        return ""

    def fail(self, message: str) -> None:
        self.failures.append(message)


@pytest.fixture
def bot(make_settings: MakeSettings, tmp_path: Path,
        fake_bedrock: FakeBedrock) -> Callable[..., Dependencies]:
    def make(**values: Any) -> Dependencies:
        return build_dependencies(make_settings(
            sqlite_path=tmp_path / "history.sqlite3", system_prompt=SYSTEM,
            bedrock_endpoint_url=fake_bedrock.url, context_token_budget=8_000, **values,
        ))

    return make


def ts_of(turn: int) -> str:
    return f"{200 + turn}.000001"


def converse(deps: Dependencies, turns: range, *, sink: Sink | None = None,
             session: SessionKey = SESSION) -> Sink:
    sink = sink or Sink()
    for turn in turns:
        text = f"{FACT}, remember it. " if turn == 1 else f"question {turn} "
        message = IncomingMessage(session, ts_of(turn), "U1", text + "x" * 290, "Ana")
        deps.conversation.claim(message)
        after = deps.conversation.answer(message, sink)
        after()  # as the Slack layer does once the answer is closed
    return sink


def summary_requests(fake: FakeBedrock) -> list[Any]:
    return [r for r in fake.requests if r.system_text == INSTRUCTIONS]


def answer_requests(fake: FakeBedrock) -> list[Any]:
    return [r for r in fake.requests if r.system_text == SYSTEM]


def long_replies(body: dict[str, Any]) -> str:
    """Answers of 2 KB; a summary request gets a summary that keeps what it was sent first."""
    if body["system"][0]["text"] == INSTRUCTIONS:
        sent = content_text(body["messages"][0]["content"])
        return "SUMMARY: " + (FACT if FACT in sent else "nothing of note")
    return "A long answer. " + "y" * 2000


def test_messages_that_leave_the_window_are_summarised_once_per_block_and_replayed_first(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    sink = converse(deps, range(1, 41))

    summaries, answers = summary_requests(fake_bedrock), answer_requests(fake_bedrock)
    assert len(answers) == 40 and not sink.failures
    # Once per block that left (the window moves a quarter of the budget at once), never
    # every turn; each later request extends the summary so far.
    moves = sum(1 for before, after in zip(answers, answers[1:], strict=False)
                if before.messages[0] != after.messages[0])
    assert 2 <= len(summaries) == moves <= 8
    first = content_text(summaries[0].messages[0]["content"])
    assert first.startswith("Summary so far:\n(none yet)\n\nNew messages, oldest first:\nAna: "
                            f"{FACT}, remember it.")
    assert "Assistant: A long answer." in first
    assert "SUMMARY: " + FACT in content_text(summaries[1].messages[0]["content"])
    assert not any(r.streaming for r in summaries)  # one response, not a stream

    # The fact of message 1 is long out of the window, and reaches the last prompt in the
    # summary, first, inside the cached prefix (before the history's cache point).
    last = answers[-1].body["messages"]
    opening = content_text(last[0]["content"])
    assert opening.startswith("[Summary of the ")
    assert "SUMMARY: " + FACT in opening and f"{FACT}, remember it." not in json.dumps(last)
    point = next(i for i, m in enumerate(last) if {"cachePoint": {"type": "default"}} in m["content"])
    assert point == len(last) - 2
    state = deps.store.recent(SESSION.id, token_budget=8_000).state
    assert state.summary.text == "SUMMARY: " + FACT
    assert state.summary.count > 0
    count = state.summary.count
    assert opening.startswith(f"[Summary of the {count} earlier messages of this thread]\n")
    seen = next(n for n in range(1, 80) if sink.notes[-1] == say.summary_note(count, n))
    assert seen + count == 2 * 39  # every earlier message: summarised or seen


def test_the_summary_is_made_after_the_answer_before_the_window_moves_so_no_turn_waits_for_it(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    first_of_turn, sink = [], Sink()
    for turn in range(1, 41):
        first_of_turn.append(len(fake_bedrock.requests))
        converse(deps, range(turn, turn + 1), sink=sink)
        # Every earlier message is in the summary or seen, on every turn: none is left out.
        note = sink.notes[-1]
        assert not note or any(note == say.summary_note(count, 2 * (turn - 1) - count)
                               for count in range(1, 2 * turn))

    assert sum(1 for note in sink.notes if note) >= 20  # the window moved by turn 20
    systems = [r.system_text for r in fake_bedrock.requests]
    made = [i for i, system in enumerate(systems) if system == INSTRUCTIONS]
    assert len(made) >= 2
    # Each turn's first request is its answer: the summaries came after earlier answers.
    assert {systems[i] for i in first_of_turn} == {SYSTEM}

    # And the answer after each summary carries it: it covers more than the one before.
    def covered(index: int) -> int:
        sent = fake_bedrock.all_text_sent(fake_bedrock.requests[index])
        return int(sent.split("[Summary of the ", 1)[1].split(" ", 1)[0]) if "[Summary" in sent else 0

    for index in made:
        if index + 1 < len(systems):
            assert systems[index - 1] == systems[index + 1] == SYSTEM
            assert covered(index + 1) > covered(index - 1)


def test_a_summary_is_told_which_files_were_shared_and_by_whom(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    plan = FileRef("F1", "launch plan.pdf", "application/pdf", "pdf", 90_000, "document")
    shot = FileRef("F2", "chart.png", "image/png", "png", 40_000, "image", 800, 600)
    shared = IncomingMessage(SESSION, ts_of(0), "U2", "", "Bob", files=(plan, shot))
    deps.conversation.claim(shared)
    deps.conversation.answer(shared, Sink())
    converse(deps, range(1, 41))

    first = content_text(summary_requests(fake_bedrock)[0].messages[0]["content"])
    assert first.startswith("Summary so far:\n(none yet)\n\nNew messages, oldest first:\n"
                            "Bob: [file launch plan.pdf]\n[file chart.png]\n\nAssistant: ")


def test_a_summary_is_made_by_summary_model_id_when_set(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    converse(bot(summary_model_id="us.anthropic.claude-haiku-4-5"), range(1, 25))

    assert summary_requests(fake_bedrock)
    assert {r.model_id for r in summary_requests(fake_bedrock)} == {"us.anthropic.claude-haiku-4-5"}
    assert {r.model_id for r in answer_requests(fake_bedrock)} == {"us.anthropic.claude-sonnet-4-6"}


def test_a_summary_is_made_by_the_channels_model_when_its_profile_names_one(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock, tmp_path: Path
) -> None:
    profiles = tmp_path / "profiles.toml"
    profiles.write_text(f'[channels.{PROFILED.channel_id}]\nmodel_id = "us.anthropic.claude-opus-4-6"\n')
    fake_bedrock.reply = long_replies
    converse(bot(channel_profiles_file=str(profiles)), range(1, 25), session=PROFILED)

    assert summary_requests(fake_bedrock)
    assert {r.model_id for r in fake_bedrock.requests} == {"us.anthropic.claude-opus-4-6"}


def test_without_summaries_old_messages_are_left_out_with_a_note(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    sink = converse(bot(summaries=False), range(1, 25))

    assert not summary_requests(fake_bedrock)
    assert FACT not in fake_bedrock.all_text_sent()
    assert sink.notes[-1].startswith("I can see the last ") and "summary" not in sink.notes[-1]


def test_an_edit_or_deletion_of_a_summarised_message_rebuilds_the_summary_without_it(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    converse(deps, range(1, 25))
    assert deps.store.recent(SESSION.id, token_budget=8_000).state.summary.text

    # The message with the fact is deleted: the summary that holds it is gone at once.
    deps.conversation.apply_deletion(SESSION.id, ts_of(1), posted_by_bot=False)
    assert deps.store.recent(SESSION.id, token_budget=8_000).state.summary.text == ""
    fake_bedrock.reset()
    converse(deps, range(25, 26))

    # Built again from the start of the thread, in pieces of half the budget.
    rebuilt = summary_requests(fake_bedrock)
    assert rebuilt and "New messages, oldest first:\nAna: question 2 " in content_text(
        rebuilt[0].messages[0]["content"])
    assert all(FACT not in json.dumps(request.body) for request in fake_bedrock.requests)
    assert "SUMMARY: nothing of note" in content_text(
        answer_requests(fake_bedrock)[-1].messages[0]["content"])

    # An edit of a summarised message: rebuilt with the new text.
    deps.conversation.apply_edit(SESSION.id, ts_of(2), text="the launch is on Thursday",
                                 edited_ts="300.000001")
    fake_bedrock.reset()
    converse(deps, range(26, 27))
    edited = summary_requests(fake_bedrock)
    assert "Ana: the launch is on Thursday" in content_text(edited[0].messages[0]["content"])


def test_an_edit_of_a_message_in_the_window_keeps_the_summary(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    converse(deps, range(1, 25))
    before = deps.store.recent(SESSION.id, token_budget=8_000).state.summary

    deps.conversation.apply_edit(SESSION.id, ts_of(24), text="an edit", edited_ts="300.000001")
    after = deps.store.recent(SESSION.id, token_budget=8_000).state.summary

    assert after.text == before.text and after.generation == before.generation + 1


def test_forget_deletes_the_summary(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    converse(deps, range(1, 25))

    deps.store.forget(SESSION.id)

    assert deps.store.recent(SESSION.id, token_budget=8_000).state.summary.text == ""


def test_a_failed_summary_still_answers_without_the_old_messages_and_is_tried_again(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    fake_bedrock.fault_for = lambda body: (
        "unavailable" if body["system"][0]["text"] == INSTRUCTIONS else None)
    deps = bot()
    sink = converse(deps, range(1, 25))

    assert summary_requests(fake_bedrock)  # tried, and failed
    assert len(answer_requests(fake_bedrock)) == 24 and not sink.failures
    assert deps.store.recent(SESSION.id, token_budget=8_000).state.summary.text == ""
    assert sink.notes[-1].startswith("I can see the last ") and "summary" not in sink.notes[-1]
    assert FACT not in json.dumps(answer_requests(fake_bedrock)[-1].body)

    fake_bedrock.fault_for = None
    converse(deps, range(25, 26), sink=sink)
    assert "SUMMARY: " + FACT in json.dumps(answer_requests(fake_bedrock)[-1].body)
    assert "summary of the" in sink.notes[-1]


def test_each_answer_stores_its_usage_and_the_days_counters_add_up(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    converse(deps, range(1, 25))

    answers = [m for m in deps.store.all(SESSION.id) if m.role == "ai"]
    usages = [json.loads(m.metadata["usage"]) for m in answers]
    assert len(usages) == 24
    assert {u["model"] for u in usages} == {"us.anthropic.claude-sonnet-4-6"}
    assert all(u["out"] > 400 and u["ms"] >= 0 for u in usages)
    assert sum(u["cache_read"] for u in usages) > 0 and usages[0]["cache_read"] == 0
    summaries = [usage for request, usage in zip(fake_bedrock.requests, fake_bedrock.usages,
                                                 strict=True)
                 if request.system_text == INSTRUCTIONS]
    assert summaries

    (counter,) = deps.store.usage([utc_day(time.time())])
    assert counter.answers == 24 and counter.summaries == len(summaries)
    assert counter.user_id == "U1" and counter.session_id == SESSION.id
    assert counter.usage.output_tokens == (sum(u["out"] for u in usages)
                                           + sum(u["outputTokens"] for u in summaries))
    assert counter.usage.cache_read_tokens == sum(u["cache_read"] for u in usages)
    assert counter.usage.input_tokens == (sum(u["in"] for u in usages)
                                          + sum(u["inputTokens"] for u in summaries))


def test_a_long_catch_up_summarises_what_it_read_and_ends_where_the_read_stopped(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot(summaries=False)
    converse(deps, range(1, 61))  # 120 messages, about 36,000 tokens: no summary yet
    summarising = bot()
    fake_bedrock.reset()
    converse(summarising, range(61, 62))

    summary = summarising.store.recent(SESSION.id, token_budget=8_000).state.summary
    sent = "\n".join(fake_bedrock.all_text_sent(r) for r in summary_requests(fake_bedrock))
    covered = [m for m in summarising.store.all(SESSION.id) if summary.covers(m.key)]
    # Every message the summary says it covers was in a summary request: none is skipped.
    assert len(covered) == summary.count > 0
    assert all(m.text[:60] in sent for m in covered)
    # The rest before the window is neither covered nor lost: the next turns summarise it.
    answer = answer_requests(fake_bedrock)[-1]
    assert f"[Summary of the {summary.count} earlier messages" in fake_bedrock.all_text_sent(answer)
    fake_bedrock.reset()
    converse(summarising, range(62, 63))
    later = summarising.store.recent(SESSION.id, token_budget=8_000).state.summary
    assert later.count > summary.count and later.through > summary.through
    first = content_text(summary_requests(fake_bedrock)[0].messages[0]["content"])
    assert first.startswith(f"Summary so far:\nSUMMARY: {FACT}\n\nNew messages")


@pytest.mark.parametrize("stop_reason, reply", [
    ("guardrail_intervened", "Sorry, the model cannot answer this question."),
    ("max_tokens", "SUMMARY: cut in the midd"),
    ("end_turn", ""),
])
def test_a_reply_that_is_no_summary_keeps_the_summary_before_it(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock, stop_reason: str, reply: str
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    converse(deps, range(1, 25))
    before = deps.store.recent(SESSION.id, token_budget=8_000).state.summary
    assert before.text == "SUMMARY: " + FACT

    fake_bedrock.converse_stop_reason = stop_reason
    fake_bedrock.reply = lambda body: reply if body["system"][0]["text"] == INSTRUCTIONS \
        else long_replies(body)
    sink = converse(deps, range(25, 45))

    assert len(summary_requests(fake_bedrock)) > 3 and not sink.failures
    assert deps.store.recent(SESSION.id, token_budget=8_000).state.summary == before
    assert "SUMMARY: " + FACT in fake_bedrock.all_text_sent(answer_requests(fake_bedrock)[-1])


def test_a_deletion_while_a_summary_is_made_never_reaches_the_model(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    deps = bot()
    deleted = {"done": False}

    def replies(body: dict[str, Any]) -> str:
        if body["system"][0]["text"] == INSTRUCTIONS and not deleted["done"]:
            # The person deletes the message with the fact while its summary is being written.
            deleted["done"] = True
            deps.conversation.apply_deletion(SESSION.id, ts_of(1), posted_by_bot=False)
        return long_replies(body)

    fake_bedrock.reply = replies
    converse(deps, range(1, 25))

    assert deleted["done"]
    first_summary = summary_requests(fake_bedrock)[0]
    answers_after = [r for r in answer_requests(fake_bedrock) if r.time > first_summary.time]
    assert answers_after
    assert all(FACT not in json.dumps(r.body) for r in answers_after)
    assert FACT not in deps.store.recent(SESSION.id, token_budget=8_000).state.summary.text


def test_a_deletion_while_the_answer_streams_never_reaches_the_summary_made_after_it(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    turn = next(t for t in range(1, 41)
                if converse(deps, range(t, t + 1)) and summary_requests(fake_bedrock))
    # The same thread again, elsewhere; while the answer before which the first summary is
    # made streams, the message with the fact is deleted.
    other = SessionKey("T1", "C2", "100.000001")
    fake_bedrock.reset()

    def replies(body: dict[str, Any]) -> str:
        if body["system"][0]["text"] == SYSTEM and len(answer_requests(fake_bedrock)) == turn:
            deps.conversation.apply_deletion(other.id, ts_of(1), posted_by_bot=False)
        return long_replies(body)

    fake_bedrock.reply = replies
    converse(deps, range(1, turn + 1), session=other)

    summaries = summary_requests(fake_bedrock)
    assert len(summaries) == 1 and summaries[0].time > answer_requests(fake_bedrock)[-1].time
    assert FACT in json.dumps(answer_requests(fake_bedrock)[-1].body)  # sent before it went
    assert FACT not in json.dumps(summaries[0].body)
    assert FACT not in deps.store.recent(other.id, token_budget=8_000).state.summary.text


def test_a_process_about_to_stop_leaves_the_summary_to_the_next_turn(
    bot: Callable[..., Dependencies], fake_bedrock: FakeBedrock, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake_bedrock.reply = long_replies
    deps = bot()
    # SIGTERM's grace, say: an hour here, so no answer is cut; nothing is started that close.
    monkeypatch.setattr(conversation_module, "SUMMARY_AHEAD_SECONDS", 7200.0)
    deps.conversation.finish_answers_by(time.monotonic() + 3600)
    first_of_turn = []
    for turn in range(1, 41):
        first_of_turn.append(len(fake_bedrock.requests))
        converse(deps, range(turn, turn + 1))

    systems = [r.system_text for r in fake_bedrock.requests]
    # Summaries are still made, each first in the turn that needs it, never after an answer.
    made = {i for i, system in enumerate(systems) if system == INSTRUCTIONS}
    assert len(made) >= 2 and made <= set(first_of_turn)
