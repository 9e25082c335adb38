"""What model tokens cost: a small table of list prices, overridable with MODEL_PRICES."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from bot.core.records import Usage

# USD per million input and output tokens (Anthropic's list prices, which Bedrock matches for
# on-demand use in its main regions), matched by the longest part of the model id they name.
# Cache reads cost a tenth of input; cache writes 1.25 times input for 5 minutes, twice for 1 h.
LIST_PRICES: dict[str, tuple[float, float]] = {
    "claude-sonnet-4": (3.0, 15.0),
    "claude-3-7-sonnet": (3.0, 15.0),
    "claude-haiku-4-5": (1.0, 5.0),
    "claude-3-5-haiku": (0.8, 4.0),
    "claude-opus-4-5": (5.0, 25.0),
    "claude-opus-4-6": (5.0, 25.0),
    "claude-opus-4-1": (15.0, 75.0),
    "claude-opus-4-0": (15.0, 75.0),
    "claude-opus-4-2025": (15.0, 75.0),  # Bedrock's id of Opus 4: anthropic.claude-opus-4-2025…
    "claude-3-5-sonnet": (3.0, 15.0),
    "claude-3-haiku": (0.25, 1.25),
}


@dataclass(frozen=True)
class Price:
    """USD per million tokens of each kind."""

    input: float
    output: float
    cache_read: float
    cache_write: float

    def cost(self, usage: Usage) -> float:
        return (usage.input_tokens * self.input + usage.output_tokens * self.output
                + usage.cache_read_tokens * self.cache_read
                + usage.cache_write_tokens * self.cache_write) / 1_000_000


def price_of(
    model_id: str, *, overrides: Mapping[str, tuple[float, float, float, float]],
    cache_ttl: str = "5m",
) -> Price | None:
    """The price of the model whose id holds the longest matching name; None: not known."""
    model = model_id.lower()
    named = [name for name in overrides if name.lower() in model]
    if named:
        return Price(*overrides[max(named, key=len)])
    listed = [name for name in LIST_PRICES if name in model]
    if not listed:
        return None
    per_input, per_output = LIST_PRICES[max(listed, key=len)]
    write = 2.0 if cache_ttl == "1h" else 1.25
    return Price(per_input, per_output, per_input * 0.1, per_input * write)
