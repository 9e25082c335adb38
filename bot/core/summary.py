"""Summaries of what leaves a thread's window, so a long thread keeps what it decided early on.

The window moves in blocks (prompt.py); each block that leaves is summarised once, into the
summary so far, which the next prompts send first. A block larger than one request's share
of the budget is summarised in pieces, at most a few requests per turn: the rest waits for
the next turn.
"""

from __future__ import annotations

import time
from collections.abc import Sequence

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage

from bot.core.files import files_of
from bot.core.records import StoredMessage, Summary, Usage
from bot.core.tokens import estimate_tokens
from bot.core.usage import usage_of

INSTRUCTIONS = (
    "You keep the running summary of a Slack thread for an assistant that goes on answering "
    "in it after the earlier messages are no longer shown. Merge the new messages into the "
    "summary so far. Keep every fact, decision, name, number, date, code name, commitment, "
    "file or link mentioned, and every open question, with who said it; drop greetings and "
    "repetition. Write plain text in the thread's language, at most 400 words. Reply with "
    "the summary only."
)
MAX_REQUESTS_PER_TURN = 3
# Stop reasons of a reply that is no summary: blocked by a guardrail, refused, cut short.
NOT_A_SUMMARY = {"guardrail_intervened", "content_filtered", "refusal", "max_tokens"}


class SummaryFailed(Exception):
    """No summary was made; `used` is what the requests made before the failure used."""

    def __init__(self, reason: str, used: Usage) -> None:
        super().__init__(reason)
        self.used = used


class Summarizer:
    """Extends a thread's summary with the messages that left its window."""

    def __init__(self, model: BaseChatModel | None = None, *, model_id: str = "") -> None:
        """`model`: SUMMARY_MODEL_ID's; None: each turn's own (its channel profile's)."""
        self._model = model
        self._model_id = model_id

    @staticmethod
    def tokens_per_turn(token_budget: int) -> int:
        """How many tokens of messages one turn summarises at most: pieces of half the
        turn's CONTEXT_TOKEN_BUDGET."""
        return token_budget // 2 * MAX_REQUESTS_PER_TURN

    def extend(
        self, summary: Summary, messages: Sequence[StoredMessage], *, through: str,
        token_budget: int, until: float | None = None,
        turn_model: tuple[BaseChatModel, str] | None = None,
    ) -> tuple[Summary, Usage]:
        """The summary with `messages` (oldest first, all below `through`) merged in, and what
        the requests used; no piece after the first is started past `until` (time.monotonic):
        the summary then ends where the pieces made end. `turn_model`: the turn's model and
        its id, used when no SUMMARY_MODEL_ID was given. Raises SummaryFailed; nothing is
        kept of a failed turn."""
        model, model_id = self._model, self._model_id
        if model is None:
            if turn_model is None:
                raise SummaryFailed("no model to summarise with", Usage())
            model, model_id = turn_model
        used = Usage(model_id=model_id)
        pieces = _pieces(messages, token_budget // 2)
        for index, piece in enumerate(pieces[:MAX_REQUESTS_PER_TURN]):
            if index and until is not None and time.monotonic() >= until:
                break
            try:
                text, usage = _ask(model, model_id, [SystemMessage(INSTRUCTIONS),
                                                     HumanMessage(request_text(summary.text, piece))])
            except SummaryFailed as failed:
                raise SummaryFailed(str(failed), used + failed.used) from None
            except Exception as error:  # noqa: BLE001 - any model fault: no summary this turn
                raise SummaryFailed(type(error).__name__, used) from error
            used += usage
            # Where this piece ends: the next piece's first message, or `through` after the last.
            end = pieces[index + 1][0].key if index + 1 < len(pieces) else through
            summary = Summary(text=text.strip(), through=end,
                              count=summary.count + len(piece), generation=summary.generation)
        return summary, used


def _ask(model: BaseChatModel, model_id: str, prompt: list[BaseMessage]) -> tuple[str, Usage]:
    """One request, not a stream: nobody watches a summary being written, and one response
    costs the bot far less CPU than hundreds of stream events. A reply that a guardrail
    blocked, the model refused or cut short, or an empty one, is no summary."""
    started = time.monotonic()
    reply = model.invoke(prompt)
    usage = usage_of(reply.usage_metadata, model_id=model_id, started=started)
    metadata = reply.response_metadata or {}
    reason = metadata.get("stopReason") or metadata.get("stop_reason") or ""
    if reason in NOT_A_SUMMARY or not reply.text.strip():
        raise SummaryFailed(f"the reply is no summary ({reason or 'empty'})", usage)
    return reply.text, usage


def request_text(summary_so_far: str, messages: Sequence[StoredMessage]) -> str:
    transcript = "\n\n".join(f"{_speaker(m)}: {_said(m)}" for m in messages)
    return (f"Summary so far:\n{summary_so_far or '(none yet)'}\n\n"
            f"New messages, oldest first:\n{transcript}")


def _said(message: StoredMessage) -> str:
    """The text, then a `[file NAME]` line per shared file (names only: a summary is made
    without downloading them), so the summary can say who shared which file."""
    files = [f"[file {ref.name}]" for ref in files_of(message.metadata)]
    return "\n".join([message.text, *files] if message.text else files)


def _speaker(message: StoredMessage) -> str:
    if message.role == "ai":
        return "Assistant"
    return message.author_name or message.author_id or "Person"


def _pieces(messages: Sequence[StoredMessage], tokens: int) -> list[list[StoredMessage]]:
    """Consecutive runs of messages of about `tokens` each (a longer message is a run alone)."""
    pieces: list[list[StoredMessage]] = []
    size = 0
    for message in messages:
        cost = estimate_tokens(message.text)
        if not pieces or size + cost > tokens:
            pieces.append([])
            size = 0
        pieces[-1].append(message)
        size += cost
    return [piece for piece in pieces if piece]
