"""Logging for the entry points (never configured at import time)."""

from __future__ import annotations

import logging
import re

_SECRET = re.compile(r"(xox[abposr]-|xapp-)[A-Za-z0-9-]+|(signing[_ ]secret['\"]?[:=]\s*)\S+",
                     re.IGNORECASE)


class RedactSecrets(logging.Filter):
    """Last line of defence: Slack tokens never reach a log line, whoever logs them."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(lambda m: (m.group(1) or m.group(2) or "") + "[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


# Libraries whose DEBUG lines carry whole requests (message text, prompts, answers) or are
# noise; message text reaches the logs only through LOG_MESSAGE_CONTENT, never through these.
_PAYLOAD_LOGGERS = (
    "botocore", "urllib3", "slack_sdk.web.base_client", "waitress.queue",
    "anthropic", "openai", "httpx", "httpx2", "httpcore", "httpcore2", "langchain_aws",
)


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactSecrets())
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _PAYLOAD_LOGGERS:
        logging.getLogger(noisy).setLevel(logging.WARNING)
