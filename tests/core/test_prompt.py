"""Prompt building: roles valid for Bedrock, speakers named, budget trimming by whole messages."""

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.prompt import build_prompt, make_roles_alternate
from bot.core.records import IncomingMessage, SessionKey, StoredMessage

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
