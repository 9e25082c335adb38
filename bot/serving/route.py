"""Which worker process handles a request: every event of one thread goes to the same one, so
a thread's messages keep their order there (bot/core/serial.py) without any shared state."""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from typing import Any

from bot.slack.payload import mapping_of as _mapping
from bot.slack.payload import text_of as _text


def thread_of(payload: Mapping[str, Any]) -> str:
    """`channel:thread_ts` of the thread a payload belongs to, as far as it says; "" if not."""
    event = _mapping(payload.get("event"))
    if event:
        inner = _mapping(event.get("message")) or _mapping(event.get("previous_message"))
        assistant = _mapping(event.get("assistant_thread"))
        channel = (_text(event.get("channel")) or _text(assistant.get("channel_id"))
                   or _text(_mapping(event.get("item")).get("channel")))
        root = (_text(event.get("thread_ts")) or _text(inner.get("thread_ts"))
                or _text(assistant.get("thread_ts")) or _text(inner.get("ts"))
                or _text(event.get("deleted_ts")) or _text(event.get("ts")))
        return f"{channel}:{root}" if channel else ""
    container, message = _mapping(payload.get("container")), _mapping(payload.get("message"))
    channel = _text(container.get("channel_id")) or _text(_mapping(payload.get("channel")).get("id"))
    root = (_text(container.get("thread_ts")) or _text(message.get("thread_ts"))
            or _text(container.get("message_ts")) or _text(message.get("ts")))
    return f"{channel}:{root}" if channel else ""


# Events about a file, not a thread: every worker may hold the file in its cache.
EVERY_WORKER = frozenset({"file_deleted", "file_unshared"})


def workers_for(payload: Mapping[str, Any], workers: int, *, fallback: int = 0) -> list[int]:
    """The workers a payload goes to: its thread's, or all of them for a file's events."""
    if _text(_mapping(payload.get("event")).get("type")) in EVERY_WORKER:
        return list(range(workers))
    return [worker_for(payload, workers, fallback=fallback)]


def worker_for(payload: Mapping[str, Any], workers: int, *, fallback: int = 0) -> int:
    """A stable worker index for the payload's thread (`fallback` when it names none)."""
    thread = thread_of(payload)
    if not thread:
        return fallback % workers
    return zlib.crc32(thread.encode()) % workers
