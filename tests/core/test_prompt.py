"""Prompt building: roles valid for Bedrock, speakers named, a window of whole messages that
moves in blocks, and where the prefix the next turn sends again ends."""

import itertools

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.prompt import (
    STOPPED_MARK,
    WINDOW_START,
    Prompt,
    build_prompt,
    make_roles_alternate,
    previous_window_start,
)
from bot.core.records import IncomingMessage, SessionKey, StoredMessage, Summary, sort_key
from bot.core.tokens import count_tokens, estimate_tokens, take_within_budget

SESSION = SessionKey("T1", "C1", "100.000001")


def human(ts: str, text: str, user: str = "U1", name: str = "Ana") -> StoredMessage:
    return StoredMessage.human(ts=ts, text=text, author_id=user, author_name=name)


def answer(ts: str, text: str) -> StoredMessage:
    return StoredMessage.answer(question_ts=ts, text=text)


def incoming(text: str, user: str = "U1", name: str = "Ana") -> IncomingMessage:
    return IncomingMessage(SESSION, "999.000001", user, text, name)


def roles(messages) -> list[str]:
    return [type(m).__name__[0] for m in messages]


def assert_valid_for_bedrock(messages) -> None:
    assert isinstance(messages[0], SystemMessage)
    turns = messages[1:]
    assert isinstance(turns[0], HumanMessage)
    assert isinstance(turns[-1], HumanMessage)
    for before, after in zip(turns, turns[1:], strict=False):
        assert type(before) is not type(after)
    assert all(m.text.strip() for m in turns)


@pytest.mark.parametrize(
    ("turns", "expected"),
    [
        ([AIMessage("hi"), HumanMessage("q")], ["H"]),
        ([HumanMessage("a"), HumanMessage("b")], ["H"]),
        ([HumanMessage("a"), AIMessage("x"), AIMessage("y"), HumanMessage("b")], ["H", "A", "H"]),
        ([HumanMessage("  "), AIMessage("x"), HumanMessage("b")], ["H"]),
        ([HumanMessage("a"), AIMessage(""), HumanMessage("b")], ["H"]),
    ],
)
def test_roles_alternate_starting_with_a_user_turn(turns, expected):
    assert roles(make_roles_alternate(turns)) == expected


def test_consecutive_user_turns_are_merged_in_order():
    merged = make_roles_alternate([HumanMessage("first"), HumanMessage("second")])
    assert merged[0].text == "first\n\nsecond"


def test_prompt_is_system_then_history_then_new_message():
    history = [human("1.0", "My name is Lee."), answer("1.0", "Hi Lee!")]
    prompt = build_prompt(
        system_prompt="be nice", history=history, message=incoming("Name?"), token_budget=10_000
    )
    assert [m.text for m in prompt.messages] == ["be nice", "My name is Lee.", "Hi Lee!", "Name?"]
    assert (prompt.history_used, prompt.history_left_out) == (2, 0)
    assert_valid_for_bedrock(prompt.messages)


def test_several_humans_are_named_in_every_user_turn():
    history = [human("1.0", "hello", "U1", "Ana"), answer("1.0", "hi"), human("2.0", "me too", "U2", "Bo")]
    prompt = build_prompt(
        system_prompt="s", history=history, message=incoming("and?", "U1", "Ana"), token_budget=10_000
    )
    texts = [m.text for m in prompt.messages[1:]]
    assert texts == ["Ana: hello", "hi", "Bo: me too\n\nAna: and?"]


def test_single_human_turns_are_not_prefixed():
    prompt = build_prompt(
        system_prompt="s", history=[human("1.0", "a")], message=incoming("b"), token_budget=10_000
    )
    assert "Ana:" not in prompt.messages[1].text


def test_budget_keeps_newest_whole_messages_and_counts_what_was_left_out():
    history = []
    for i in range(1, 41):
        history += [human(f"{i}.0", f"question {i} " + "x" * 400), answer(f"{i}.0", f"answer {i} " + "y" * 400)]
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("now?"), token_budget=2_000)
    assert_valid_for_bedrock(prompt.messages)
    assert 0 < prompt.history_used < 80
    assert prompt.history_used + prompt.history_left_out == 80
    assert prompt.messages[-1].text.endswith("now?")
    assert "answer 40" in prompt.messages[-2].text
    kinds = ["x" if "x" * 400 in m.text else "y" if "y" * 400 in m.text else "?"
             for m in prompt.messages[1:-1]]
    assert kinds == ["x", "y"] * (len(kinds) // 2)  # whole question and answer pairs, in order


def test_new_message_larger_than_budget_is_still_sent():
    prompt = build_prompt(
        system_prompt="s", history=[human("1.0", "a")], message=incoming("z" * 20_000), token_budget=500
    )
    assert prompt.messages[-1].text == "z" * 20_000
    assert prompt.history_used == 0


def pair(i: int) -> list[StoredMessage]:
    """One turn of a long thread: a 300-character question and a 2,000-character answer."""
    return [human(f"{i}.0", f"question {i} " + "x" * 290), answer(f"{i}.0", f"answer {i} " + "y" * 1990)]


def thread(turns: int) -> list[StoredMessage]:
    return [m for i in range(1, turns + 1) for m in pair(i)]


def tokens_of(history: list[StoredMessage]) -> int:
    return sum(estimate_tokens(m.text) for m in history)


BUDGET = 6_000  # about ten turns of `pair`


def turn_after(history: list[StoredMessage], budget: int = BUDGET):
    """What a turn sends: the store reads the newest messages within the budget (as both
    stores do), the window starts where the newest answer's did."""
    recent = take_within_budget(reversed(history), budget).messages
    prompt = build_prompt(system_prompt="s", history=recent, message=incoming("now?"),
                          token_budget=budget, window_start=previous_window_start(recent))
    return recent, prompt


def grow(turns: int) -> list[tuple[list[StoredMessage], Prompt]]:
    """Each turn of a thread growing by a question and an answer: what the store read, and
    the prompt, whose window start is stored with the answer as the conversation does."""
    history: list[StoredMessage] = []
    turns_sent = []
    for i in range(1, turns + 1):
        recent, prompt = turn_after(history)
        turns_sent.append((recent, prompt))
        question, reply = pair(i)
        history += [question, StoredMessage.answer(
            question_ts=f"{i}.0", text=reply.text, metadata={WINDOW_START: prompt.window_start})]
    return turns_sent


def test_a_growing_thread_keeps_its_window_start_for_many_turns_and_moves_in_blocks():
    sent = grow(60)
    for recent, prompt in sent:
        assert count_tokens(prompt.messages) <= BUDGET
        assert prompt.history_used + prompt.history_left_out == len(recent)
        assert_valid_for_bedrock(prompt.messages)

    starts = [prompt.window_start for _, prompt in sent[12:]]  # the budget holds about ten turns
    runs = [len(list(group)) for _, group in itertools.groupby(starts)]
    assert len(runs) > 5  # the window moves...
    assert min(runs[1:-1]) >= 3  # ...never by one turn: by a quarter of the budget (2.5 turns)
    assert len(set(starts)) == len(runs)  # and only forward: no start comes back


def test_when_the_window_moves_a_quarter_of_the_room_is_left_free():
    history = thread(40)
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("now?"),
                          token_budget=BUDGET)
    room = BUDGET - count_tokens(prompt.messages[:1]) - estimate_tokens("now?")
    kept = history[prompt.history_left_out:]
    assert room * 3 // 4 - tokens_of(pair(1)) < tokens_of(kept) <= room * 3 // 4
    assert prompt.window_start == kept[0].key and kept[0].role == "human"


def test_the_previous_start_is_kept_while_the_window_from_it_fits():
    history = thread(8)
    start = history[6].key  # the question of turn 4
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("now?"),
                          token_budget=BUDGET, window_start=start)
    assert (prompt.history_left_out, prompt.history_used) == (6, 10)
    assert prompt.window_start == start
    assert prompt.messages[1].text.startswith("question 4 ")


def test_a_deleted_start_moves_the_window_to_the_next_question():
    history = thread(8)
    deleted = history[6].key
    prompt = build_prompt(system_prompt="s", history=history[:6] + history[8:], message=incoming("now?"),
                          token_budget=BUDGET, window_start=deleted)
    assert prompt.window_start == sort_key("5.0")
    assert prompt.messages[1].text.startswith("question 5 ")


def test_a_start_older_than_what_the_store_read_moves_the_window():
    """The store stopped reading before the previous start: that window no longer fits."""
    recent = take_within_budget(reversed(thread(40)), BUDGET).messages
    prompt = build_prompt(system_prompt="s", history=recent, message=incoming("now?"),
                          token_budget=BUDGET, window_start=sort_key("1.0"))
    assert tokens_of(recent[prompt.history_left_out:]) <= BUDGET * 3 // 4
    assert prompt.history_left_out > 0


def test_a_start_the_summary_took_in_goes_on_from_the_summarys_end_while_that_fits():
    """The window's start went into the summary (made ahead, or in this turn): the window
    starts where the summary ends, not a quarter of the room further on."""
    history = thread(10)  # what is after the summary fits the room, not three quarters of it
    summary = Summary(text="What they said. " * 30, through=history[4].key, count=4)
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("now?"),
                          token_budget=BUDGET, window_start=history[2].key, summary=summary)
    assert prompt.window_start == summary.through
    assert (prompt.history_left_out, prompt.summarised) == (0, 4)
    # The summary is the opening user turn, merged with the first question after it.
    assert prompt.messages[1].text.endswith("\n\n" + history[4].text)
    assert count_tokens(prompt.messages) <= BUDGET


def test_the_stable_prefix_ends_after_the_system_prompt_and_the_last_history_turn():
    history = [human("1.0", "a"), answer("1.0", "b"), human("2.0", "c"), answer("2.0", "d")]
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("e"), token_budget=10_000)
    assert prompt.prefix_ends == (0, 4)
    assert prompt.messages[4].text == "d"

    no_history = build_prompt(system_prompt="s", history=[], message=incoming("e"), token_budget=10_000)
    assert no_history.prefix_ends == (0,)
    assert no_history.window_start == ""


def test_an_unanswered_question_merged_with_the_new_one_is_not_part_of_the_prefix():
    history = [human("1.0", "a"), answer("1.0", "b"), human("2.0", "c (no answer came)")]
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("e"), token_budget=10_000)
    assert [m.text for m in prompt.messages] == ["s", "a", "b", "c (no answer came)\n\ne"]
    assert prompt.prefix_ends == (0, 2)


def test_consecutive_turns_with_one_window_start_share_the_prefix_up_to_the_last_end():
    sent = grow(60)
    shared = 0
    for (_, first), (_, second) in itertools.pairwise(sent):
        if first.window_start != second.window_start:
            continue
        end = first.prefix_ends[-1]
        assert [m.text for m in second.messages[: end + 1]] == [m.text for m in first.messages[: end + 1]]
        shared += 1
    assert shared >= 45  # of 59 pairs of turns


def test_the_newest_answer_says_where_the_window_started():
    history = [human("1.0", "a"), StoredMessage.answer(question_ts="1.0", text="b", metadata={WINDOW_START: "k1"}),
               human("2.0", "c"), StoredMessage.answer(question_ts="2.0", text="d", metadata={WINDOW_START: "k2"}),
               human("3.0", "unanswered")]
    assert previous_window_start(history) == "k2"
    assert previous_window_start(history[:1]) == ""


def test_an_answer_the_person_stopped_is_replayed_as_shown_and_says_so():
    stopped = StoredMessage.answer(question_ts="1.000001", text="Step one: open the",
                                   metadata={"status": "stopped"})
    nothing = StoredMessage.answer(question_ts="3.000001", text="", metadata={"status": "stopped"})
    history = [human("1.000001", "how?"), stopped, human("3.000001", "and?"), nothing]

    prompt = build_prompt(system_prompt="S", history=history, message=incoming("go on"),
                          token_budget=10_000)

    assert [m.text for m in prompt.messages[1:]] == [
        "how?", f"Step one: open the\n\n{STOPPED_MARK}", "and?", STOPPED_MARK, "go on"]


def test_a_summary_that_ends_on_an_answer_is_followed_by_that_answer():
    """A summary can end on an answer (a piece or a read stopped there): the window starts
    with it, so it is neither summarised nor left out."""
    history = thread(6)
    summary = Summary(text="What they said.", through=history[3].key, count=3)  # answer 2
    prompt = build_prompt(system_prompt="s", history=history, message=incoming("now?"),
                          token_budget=BUDGET, window_start=history[0].key, summary=summary)
    assert prompt.window_start == history[3].key
    assert isinstance(prompt.messages[2], AIMessage)
    assert prompt.messages[2].text == history[3].text
    assert_valid_for_bedrock(prompt.messages)
