"""The Slack Web API client every part of the bot shares, and one way to call it safely."""

from __future__ import annotations

import logging
from collections.abc import Callable
from http.client import HTTPException
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    RetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import ServerErrorRetryHandler

# Slack answers in well under a second; a call still hanging after this is better failed and
# handled (the reply sink falls back) than left to hold a worker thread (SLACK_TIMEOUT_SECONDS).
TIMEOUT_SECONDS = 15.0


def retry_handlers() -> list[RetryHandler]:
    """Retries for what Slack asks to retry: HTTP 429 after its Retry-After, connection resets
    and 500/503. A rate-limited call waits in the worker thread, which is what Slack wants."""
    return [
        RateLimitErrorRetryHandler(max_retry_count=2),
        ConnectionErrorRetryHandler(max_retry_count=2),
        ServerErrorRetryHandler(max_retry_count=1),
    ]


def make_web_client(token: str, base_url: str, *, timeout: float = TIMEOUT_SECONDS) -> WebClient:
    """A WebClient for `base_url` (SLACK_API_URL; tests point it at a local fake)."""
    return WebClient(
        token=token,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        timeout=timeout,  # type: ignore[arg-type]  # typed int; urllib takes any float
        retry_handlers=retry_handlers(),
    )


APPS_PAGE = "api.slack.com/apps"
# What to do about Slack errors that no retry cures (the log lines, `python -m bot doctor`).
HINTS = {
    "not_in_channel": "invite the bot to the channel",
    "channel_not_found": "the channel is gone or the bot cannot see it",
    "is_archived": "the channel is archived",
    "invalid_auth": f"copy the Bot User OAuth Token from {APPS_PAGE} > OAuth & Permissions "
    "into SLACK_BOT_TOKEN",
    "not_authed": "set SLACK_BOT_TOKEN to the Bot User OAuth Token",
    "token_revoked": "reinstall the app to the workspace and put its new token in SLACK_BOT_TOKEN",
    "account_inactive": "reinstall the app to the workspace and put its new token in "
    "SLACK_BOT_TOKEN",
    "token_expired": "token rotation is on: switch it off in the app settings or refresh the token",
    "missing_scope": "add the scopes manifest.yml lists and reinstall the app",
    "ratelimited": "Slack kept rate-limiting after the retries",
}


class Refused(Exception):
    """Slack refused a call or could not be reached (after the client's retries)."""

    def __init__(self, method: str, error: str) -> None:
        super().__init__(f"{method}: {error}")
        self.method = method
        self.error = error

    def explain(self) -> str:
        hint = HINTS.get(self.error)
        return f"{self.method} failed with {self.error}" + (f" ({hint})" if hint else "")


class SlackCaller:
    """Calls one WebClient method, turning every way it can fail into a logged `Refused`."""

    def __init__(self, channel: str, log: logging.Logger) -> None:
        self._channel = channel
        self._log = log

    def call(self, method: Callable[..., Any], **arguments: Any) -> Any:
        return self._call(method, arguments, logging.WARNING)

    def call_quietly(self, method: Callable[..., Any], **arguments: Any) -> Any:
        """For calls whose failure is expected and handled (status, streaming not enabled)."""
        return self._call(method, arguments, logging.INFO)

    def _call(self, method: Callable[..., Any], arguments: dict[str, Any], level: int) -> Any:
        try:
            return method(**arguments)
        except SlackApiError as error:
            code = str(error.response.get("error") or f"HTTP {error.response.status_code}")
        except (SlackClientError, OSError, HTTPException) as error:  # unreachable, timed out
            code = type(error).__name__
        name = getattr(method, "__name__", "call")
        owner = getattr(method, "__self__", None)
        if owner is not None and not isinstance(owner, WebClient):
            name = f"{type(owner).__name__}.{name}"  # slack_sdk's ChatStream.append, .stop
        self._log.log(level, "Slack %s in %s failed: %s", name, self._channel, code)
        raise Refused(name, code)
