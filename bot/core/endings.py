"""How an answer can end other than complete: a person stopped it, or the model's provider
blocked it (a guardrail). Both keep what was shown and are stored, marked."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.core.records import Usage

# The `status` metadata of a stored answer that did not end on its own.
STOPPED = "stopped"
BLOCKED = "guardrail_intervened"


class StopSignal(Protocol):
    """Set when the person asked the bot to stop answering (threading.Event is one)."""

    def is_set(self) -> bool: ...


class AnswerStopped(Exception):
    """The person stopped the answer; `shown` is what the model had written until then."""

    def __init__(self, shown: str) -> None:
        super().__init__("the answer was stopped")
        self.shown = shown
        self.usage = Usage()


class AnswerBlocked(Exception):
    """The model's provider blocked the answer by policy (Bedrock Guardrails). Raised by the
    model adapter once the stream is over; the core fills in `shown`. `message`: the policy's
    own words, when the operator chose to show them (None: the bot's line)."""

    def __init__(self, message: str | None = None) -> None:
        super().__init__("the answer was blocked by a guardrail")
        self.message = message
        self.shown = ""
        self.usage = Usage()


@runtime_checkable
class StoppableSink(Protocol):
    """A reply sink that can end a stopped answer with exactly what it shows."""

    def stop(self, *, note: str) -> tuple[str, str]:
        """Close the answer with what is already shown plus `note`; drop what was not sent
        yet. Returns (reply id/ts, the answer's text as shown)."""
        ...
