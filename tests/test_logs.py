"""The log handler's redaction: tokens, refused request bodies and tracebacks alike."""

from __future__ import annotations

import io
import logging

from bot.logs import setup_logging


def test_tokens_bodies_and_tracebacks_are_redacted(monkeypatch):
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    try:
        setup_logging("INFO")
        stream = io.StringIO()
        monkeypatch.setattr(root.handlers[0], "stream", stream)
        log = logging.getLogger("bot.test")
        log.info("token xoxb-123-456-abc in a line")
        logging.getLogger("slack_bolt.RequestVerification").info(
            "Invalid request signature detected (signature: v0=1, timestamp: 2, body: {\"text\": \"secret words\"})")
        try:
            raise ValueError("failed with xoxp-999-888")
        except ValueError:
            log.exception("it broke")
        logging.getLogger("slack_bolt.App").debug("payload with secret words")
    finally:
        root.handlers[:], root.level = saved
    written = stream.getvalue()
    assert "xoxb-[redacted]" in written and "xoxb-123" not in written
    assert "body: [left out])" in written and "secret words" not in written
    assert "Traceback" in written and "xoxp-[redacted]" in written and "xoxp-999" not in written
