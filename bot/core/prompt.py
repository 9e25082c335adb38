"""Turn a thread's stored messages and the new message into a conversation the model accepts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
)

from bot.core.endings import STOPPED
from bot.core.files import FileRef, file_block, files_of
from bot.core.records import IncomingMessage, StoredMessage, Summary
from bot.core.tokens import count_tokens, estimate_tokens


def has_several_humans(history: Sequence[StoredMessage], message: IncomingMessage) -> bool:
    authors = {m.author_id or m.author_name for m in history if m.role == "human"}
    authors.add(message.user_id or message.user_name)
    authors.discard("")
    return len(authors) > 1


def summary_turn(summary: Summary) -> HumanMessage:
    """How a summary is replayed: first, as the thread's opening turn."""
    return HumanMessage(
        f"[Summary of the {summary.count} earlier messages of this thread]\n{summary.text}"
    )


# What the model is told of an answer the person stopped (its metadata's status: endings.py).
STOPPED_MARK = "[The person stopped this answer here.]"


def _answer_text(stored: StoredMessage) -> str:
    if stored.metadata.get("status") != STOPPED:
        return stored.text
    return f"{stored.text}\n\n{STOPPED_MARK}" if stored.text.strip() else STOPPED_MARK


def _human_text(text: str, author: str, *, name_speakers: bool) -> str:
    return f"{author}: {text}" if name_speakers and author else text


def _human_turn(text: str, files: Sequence[FileRef]) -> HumanMessage:
    """A person's turn; with files, its text is followed by one block per file (bot.core.files)."""
    if not files:
        return HumanMessage(text)
    text_blocks = [{"type": "text", "text": text}] if text.strip() else []
    return HumanMessage([*text_blocks, *(file_block(ref) for ref in files)])


def to_chat_messages(
    history: Sequence[StoredMessage], message: IncomingMessage
) -> list[BaseMessage]:
    """History then the new message; in threads with several humans, each user turn says who."""
    name_speakers = has_several_humans(history, message)
    turns: list[BaseMessage] = []
    for stored in history:
        if stored.role == "ai":
            turns.append(AIMessage(_answer_text(stored)))
        else:
            author = stored.author_name or stored.author_id
            text = _human_text(stored.text, author, name_speakers=name_speakers)
            turns.append(_human_turn(text, files_of(stored.metadata)))
    author = message.user_name or message.user_id
    text = _human_text(message.text, author, name_speakers=name_speakers)
    turns.append(_human_turn(text, message.files))
    return turns


def make_roles_alternate(turns: Sequence[BaseMessage]) -> list[BaseMessage]:
    """Bedrock Converse rejects a conversation unless it starts with a user turn and roles
    strictly alternate: drop leading answers and blank turns, merge consecutive same-role turns.
    Text is never trimmed: leading indentation and trailing blank lines are part of what was said.
    """
    merged: list[BaseMessage] = []
    for turn in turns:
        if not turn.text.strip():
            continue
        if not merged and not isinstance(turn, HumanMessage):
            continue
        if merged and type(merged[-1]) is type(turn):
            merged[-1] = _joined(merged[-1], turn)
        else:
            merged.append(turn)
    return merged


def _joined(first: BaseMessage, second: BaseMessage) -> BaseMessage:
    if isinstance(first.content, str) and isinstance(second.content, str):
        return type(second)(f"{first.content}\n\n{second.content}")
    # A turn with files keeps its blocks: each file stays after the text it came with.
    return type(second)([*_blocks(first), *_blocks(second)])


def _blocks(message: BaseMessage) -> list[str | dict]:
    if isinstance(message.content, str):
        return [{"type": "text", "text": message.content}]
    return list(message.content)


# An answer's metadata: the key of the oldest history message its prompt held, where the
# next turn's window starts while it still fits.
WINDOW_START = "window"


@dataclass(frozen=True)
class Prompt:
    messages: list[BaseMessage]
    history_used: int
    history_left_out: int
    # Indexes of `messages` where the prefix that the next turn sends again ends: the system
    # prompt, and the last message that is history only. A prompt cache may be marked there.
    prefix_ends: tuple[int, ...] = ()
    # The key of the first history message sent ("": none).
    window_start: str = ""
    # How many messages before the window the summary sent first covers (0: none sent).
    summarised: int = 0


def previous_window_start(history: Sequence[StoredMessage]) -> str:
    """Where the window of the newest answer in `history` started ("": unknown)."""
    for stored in reversed(history):
        if stored.role == "ai" and WINDOW_START in stored.metadata:
            return stored.metadata[WINDOW_START]
    return ""


def build_prompt(
    *,
    system_prompt: str,
    history: Sequence[StoredMessage],
    message: IncomingMessage,
    token_budget: int,
    window_start: str = "",
    summary: Summary | None = None,
) -> Prompt:
    """System prompt + the summary of older messages + a window of the newest history that
    fits the budget + the new message.

    The window starts at `window_start` (the previous turn's start) for as long as it fits;
    then it moves forward in one block, leaving a quarter of the history's room free, so that
    the turns in between send the same prefix and a prompt cache can serve it
    (docs/prompt-cache.md). Whole stored messages are kept or left out, before merging, so the
    caller can tell the user exactly how many messages of the thread the model saw. Messages
    the summary covers are never sent again in full.
    """
    opening: list[BaseMessage] = []
    on_question = True
    if summary is not None and summary.text:
        history = [m for m in history if not summary.covers(m.key)]
        opening = [summary_turn(summary)]
        if window_start and summary.covers(window_start):
            # The window's start went into the summary: it goes on from the summary's end,
            # even an answer (after the summary's user turn, roles still alternate).
            window_start, on_question = summary.through, False
    turns = to_chat_messages(history, message)
    system = SystemMessage(system_prompt)
    question = turns[-1]
    room = token_budget - count_tokens([system, *opening, question])
    # The new message alone does not fit: it is sent anyway and the model decides, rather
    # than sending nothing (a TOO_LONG failure is reported to the user).
    start = len(history)
    if room > 0:
        start = _window_start(history, turns[:-1], room=room, previous=window_start,
                              on_question=on_question)
    merged = make_roles_alternate([*opening, *turns[start:-1], question])
    # The last merged turn holds the new message; every turn before it is history only.
    return Prompt(
        messages=[system, *merged],
        history_used=len(history) - start,
        history_left_out=start,
        prefix_ends=(0, len(merged) - 1) if len(merged) > 1 else (0,),
        window_start=history[start].key if start < len(history) else "",
        summarised=summary.count if opening and summary is not None else 0,
    )


def _window_start(
    history: Sequence[StoredMessage], turns: Sequence[BaseMessage], *, room: int, previous: str,
    on_question: bool = True,
) -> int:
    """The index of the first history message to send: where the previous window started
    (`on_question`: at the first person's message from there) while the rest fits `room`;
    else the first person's message after which the rest fits three quarters of it."""
    costs = [estimate_tokens(turn.text) for turn in turns]
    # The previous start is out of view when the store's read stopped short of it.
    if not previous or not history or history[0].key <= previous:
        start = next((i for i, m in enumerate(history) if m.key >= previous), len(history))
        if on_question:
            start = next((i for i in range(start, len(history)) if history[i].role == "human"),
                         len(history))
        if sum(costs[start:]) <= room:
            return start
    rest = sum(costs)
    target = room - room // 4
    for index, stored in enumerate(history):
        if rest <= target and stored.role == "human":
            return index
        rest -= costs[index]
    return len(history)
