"""A model call's usage, read from LangChain's `usage_metadata`, and the day it counts on."""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from bot.core.records import Usage

# Usage counters are kept this long, whatever HISTORY_TTL_DAYS says: they hold no text.
USAGE_DAYS_KEPT = 400


def usage_of(metadata: Mapping[str, Any] | None, *, model_id: str, started: float) -> Usage:
    """From LangChain's `usage_metadata`, whose `input_tokens` is the sum of every kind of
    input token; Usage keeps the kinds apart, because each is billed at its own price."""
    metadata = metadata or {}
    details = metadata.get("input_token_details") or {}
    cache_read = int(details.get("cache_read") or 0)
    cache_write = int(details.get("cache_creation") or 0)
    return Usage(
        input_tokens=max(0, int(metadata.get("input_tokens") or 0) - cache_read - cache_write),
        output_tokens=int(metadata.get("output_tokens") or 0),
        cache_read_tokens=cache_read,
        cache_write_tokens=cache_write,
        model_id=model_id,
        latency_ms=round((time.monotonic() - started) * 1000),
    )


def utc_day(at: float) -> str:
    return time.strftime("%Y-%m-%d", time.gmtime(at))
