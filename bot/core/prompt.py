"""Turn a thread's stored messages and the new message into a conversation the model accepts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from langchain_core.messages import (
    AIMessage,
    BaseMessage,
    HumanMessage,
    SystemMessage,
    trim_messages,
)

from bot.core.records import IncomingMessage, StoredMessage
from bot.core.tokens import count_tokens


def has_several_humans(history: Sequence[StoredMessage], message: IncomingMessage) -> bool:
    authors = {m.author_id or m.author_name for m in history if m.role == "human"}
    authors.add(message.user_id or message.user_name)
    authors.discard("")
    return len(authors) > 1


def _human_text(text: str, author: str, *, name_speakers: bool) -> str:
    return f"{author}: {text}" if name_speakers and author else text


def to_chat_messages(
    history: Sequence[StoredMessage], message: IncomingMessage
) -> list[BaseMessage]:
    """History then the new message; in threads with several humans, each user turn says who."""
    name_speakers = has_several_humans(history, message)
    turns: list[BaseMessage] = []
    for stored in history:
        if stored.role == "ai":
            turns.append(AIMessage(stored.text))
        else:
            author = stored.author_name or stored.author_id
            turns.append(HumanMessage(_human_text(stored.text, author, name_speakers=name_speakers)))
    author = message.user_name or message.user_id
    turns.append(HumanMessage(_human_text(message.text, author, name_speakers=name_speakers)))
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
            merged[-1] = type(turn)(f"{merged[-1].text}\n\n{turn.text}")
        else:
            merged.append(turn)
    return merged


@dataclass(frozen=True)
class Prompt:
    messages: list[BaseMessage]
    history_used: int
    history_left_out: int


def build_prompt(
    *,
    system_prompt: str,
    history: Sequence[StoredMessage],
    message: IncomingMessage,
    token_budget: int,
) -> Prompt:
    """System prompt + the newest whole history messages that fit the budget + the new message.

    Trimming happens per stored message (LangChain's trim_messages), before merging, so the
    caller can tell the user exactly how many messages of the thread the model saw.
    """
    turns = to_chat_messages(history, message)
    system = SystemMessage(system_prompt)
    kept = trim_messages(
        [system, *turns],
        max_tokens=token_budget,
        token_counter=count_tokens,
        strategy="last",
        include_system=True,
        start_on="human",
        allow_partial=False,
    )
    if len(kept) <= 1 or kept[-1] is not turns[-1]:
        # The new message alone does not fit: send it anyway and let the model decide,
        # rather than silently sending nothing (a TOO_LONG failure is reported to the user).
        kept = [system, turns[-1]]
    used = len(kept) - 2
    return Prompt(
        messages=[system, *make_roles_alternate(kept[1:])],
        history_used=used,
        history_left_out=len(history) - used,
    )
