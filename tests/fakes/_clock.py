"""Slack message timestamps: unique and increasing across every fake and builder in the process."""

from __future__ import annotations

import threading
import time

_lock = threading.Lock()
_last_micros = 0


def next_ts() -> str:
    """A fresh Slack `ts` ("seconds.micros") later than any handed out before, like Slack's."""
    global _last_micros
    with _lock:
        micros = max(int(time.time() * 1_000_000), _last_micros + 1)
        _last_micros = micros
    return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"
