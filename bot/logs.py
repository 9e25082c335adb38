"""Logging for the entry points (never configured at import time)."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(xox[abposr]-|xapp-)[A-Za-z0-9-]+|(signing[_ ]secret['\"]?[:=]\s*)\S+",
                     re.IGNORECASE)
# Bolt's request verification logs a refused request's whole body (message text included) at
# INFO; the signature and timestamp are what an operator needs.
_BODY = re.compile(r"(, body: ).*\)$", re.DOTALL)


def redact(text: str) -> str:
    text = _SECRET.sub(lambda m: (m.group(1) or m.group(2) or "") + "[redacted]", text)
    return _BODY.sub(r"\1[left out])", text)


class RedactSecrets(logging.Filter):
    """Last line of defence: Slack tokens and request bodies never reach a log line, whoever
    logs them; tracebacks go through the same redaction."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__()
        self._formatter = formatter

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        return True


# Libraries whose DEBUG lines carry whole requests (message text, prompts, answers) or are
# noise; message text reaches the logs only through LOG_MESSAGE_CONTENT, never through these.
_PAYLOAD_LOGGERS = (
    "botocore", "urllib3", "slack_sdk.web.base_client", "slack_sdk.socket_mode",
    "slack_sdk.web.chat_stream", "waitress.queue", "anthropic", "openai", "httpx", "httpx2",
    "httpcore", "httpcore2", "langchain_aws", "slack_bolt",
)


def setup_logging(level: str = "INFO", *, message_content: bool = False) -> None:
    formatter = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets(formatter))
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    chosen = logging.getLevelName(level.upper())
    chosen = chosen if isinstance(chosen, int) else logging.INFO
    for noisy in _PAYLOAD_LOGGERS:
        if noisy == "slack_bolt" and message_content:
            continue  # asked for: Bolt's DEBUG lines, payloads included
        # slack_bolt's own INFO and WARNING lines stay; its DEBUG lines print payloads.
        floor = logging.INFO if noisy == "slack_bolt" else logging.WARNING
        logging.getLogger(noisy).setLevel(max(floor, chosen))
