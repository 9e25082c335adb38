"""The lazy invocation: the Bolt app processes the request the ack handed on (bot/lambda_ack.py).

Trust comes from how the invocation arrived, not from Slack's signature. Only a direct
`lambda:InvokeFunction`, which IAM authorizes (the function's own role), can produce an event
with `lazy_slack_request` at its top level; the ack checked the signature before queueing it.
The original signature's timestamp may be minutes old by now (Lambda's queue, throttling), and
Bolt rejects a timestamp over 5 minutes old with a 401 that Lambda counts as success: an answer
lost without a trace. So the request is signed again here, with the current time and the app's
own signing secret, and Bolt's verification passes. An invocation older than
LAMBDA_MAX_EVENT_AGE_SECONDS is refused by raising, as is a failed listener: with no retries
configured, Lambda sends both to the on-failure destination (docs/deploy-lambda.md).

The request is dispatched as an ordinary one, with a lazy-listener runner that runs each lazy
listener right here. Not as Bolt's own lazy-only request: that skips the ack functions, and two
listeners do their work there (answer feedback is logged, other events are acknowledged and
ignored), so they would fall silent. Bolt still hands each lazy listener its lazy-only copy of
the request, as in its own second invocation.
"""

from __future__ import annotations

import functools
import inspect
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import SecretStr, ValidationError
from slack_bolt import App, BoltRequest
from slack_bolt.kwargs_injection import build_required_kwargs
from slack_bolt.lazy_listener import LazyListenerRunner

from bot.config import ConfigError, Settings
from bot.core.conversation import Conversation
from bot.lambda_ack import LAZY_EVENT_KEY, LAZY_EVENT_VERSION, slack_signature
from bot.lambda_env import LambdaEnvironment, SlackCredentials
from bot.logs import setup_logging
from bot.slack.app import create_app
from bot.wiring import build_dependencies

log = logging.getLogger(__name__)

# Time kept back from the function's timeout to close a cut answer (Slack calls, the store).
LAMBDA_CLOSING_SECONDS = 5.0


class LazyInvocationRefused(Exception):
    """The invocation is not one this function queued, or is too old to answer."""


class LazyListenerFailed(Exception):
    """A listener raised; the question it was answering got no answer."""


@dataclass(frozen=True)
class LazyRequest:
    acked_at: float
    body: str
    headers: Mapping[str, str]
    query: Mapping[str, str]

    @classmethod
    def from_event(cls, event: Mapping[str, Any]) -> LazyRequest:
        request = event.get(LAZY_EVENT_KEY)
        if not isinstance(request, Mapping) or request.get("version") != LAZY_EVENT_VERSION:
            raise LazyInvocationRefused(f"not a version {LAZY_EVENT_VERSION} lazy invocation")
        acked_at, body = request.get("acked_at"), request.get("body")
        headers, query = request.get("headers"), request.get("query") or {}
        if not isinstance(acked_at, int | float) or not isinstance(body, str) or \
                not isinstance(headers, Mapping) or not isinstance(query, Mapping):
            raise LazyInvocationRefused("the lazy invocation lacks acked_at, body or headers")
        return cls(float(acked_at), body, dict(headers), dict(query))


class InlineLazyListenerRunner(LazyListenerRunner):
    """Runs each lazy listener in this invocation and keeps its error (Bolt's own `run` only
    logs it, and the invocation would end as a success)."""

    def __init__(self, logger: logging.Logger) -> None:
        self.logger = logger
        self._failures: list[Exception] = []

    def start(self, function: Callable[..., None], request: BoltRequest) -> None:
        # The same argument names Bolt injects for its listeners (positional parameters).
        names = inspect.getfullargspec(inspect.unwrap(function)).args
        try:
            function(**build_required_kwargs(
                logger=self.logger, required_arg_names=names, request=request, response=None,
                this_func=function,
            ))
        except Exception as error:
            self.logger.exception("lazy listener %s failed", getattr(function, "__name__", function))
            self._failures.append(error)

    def take_failures(self) -> list[Exception]:
        failures, self._failures = self._failures, []
        return failures


def answer(
    event: Mapping[str, Any], context: Any, *, environment: LambdaEnvironment,
    credentials: SlackCredentials, clock: Callable[[], float] = time.time,
) -> dict[str, Any]:
    """Run the listeners for the request in `event`; raise if it cannot be answered."""
    request = LazyRequest.from_event(event)
    age = clock() - request.acked_at
    if age > environment.max_event_age_seconds:
        raise LazyInvocationRefused(
            f"lazy invocation {age:.0f} s after its ack, over LAMBDA_MAX_EVENT_AGE_SECONDS "
            f"({environment.max_event_age_seconds} s); the question was not answered"
        )
    app, runner, conversation = ready_app(credentials)
    remaining = getattr(context, "get_remaining_time_in_millis", None)
    if callable(remaining):
        # An answer still streaming when the function is about to time out ends with a note
        # and is stored as shown, instead of being cut off in silence.
        conversation.finish_answers_by(
            time.monotonic() + remaining() / 1000 - LAMBDA_CLOSING_SECONDS
        )
    bolt_request = BoltRequest(
        body=request.body, query=dict(request.query),
        headers=vouched_headers(request, credentials.signing_secret, now=clock()),
    )
    # What Bolt's AWS Lambda adapter puts in the context.
    bolt_request.context["aws_lambda_function_name"] = context.function_name
    bolt_request.context["aws_lambda_invoked_function_arn"] = context.invoked_function_arn
    response = app.dispatch(bolt_request)
    failures = runner.take_failures()
    if failures:
        raise LazyListenerFailed(f"{len(failures)} lazy listener(s) failed") from failures[0]
    # 401 cannot happen with the request signed again above; were it to, nothing would answer.
    if response.status >= 500 or response.status == 401:
        raise LazyListenerFailed(f"the Bolt app answered {response.status}; see the error above")
    return {"statusCode": response.status}


def vouched_headers(
    request: LazyRequest, signing_secret: str, *, now: float
) -> dict[str, str | Sequence[str]]:
    """The request's headers, signed again at `now` (see the module docstring for why)."""
    timestamp = str(int(now))
    headers: dict[str, str | Sequence[str]] = dict(request.headers)
    return headers | {
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": slack_signature(signing_secret, timestamp, request.body),
    }


@functools.cache
def ready_app(credentials: SlackCredentials) -> tuple[App, InlineLazyListenerRunner, Conversation]:
    """Built on a container's first lazy invocation and kept for its life (Lambda keeps module
    state between invocations): the clients and auth.test are paid once per container."""
    settings = load_lambda_settings(credentials)
    setup_logging(settings.log_level, message_content=settings.log_message_content)
    deps = build_dependencies(settings)
    app = create_app(deps, process_before_response=True)
    runner = InlineLazyListenerRunner(app.logger)
    app.listener_runner.lazy_listener_runner = runner
    return app, runner, deps.conversation


def load_lambda_settings(credentials: SlackCredentials) -> Settings:
    """The bot's settings from the environment, the Slack credentials from `credentials`."""
    overrides: dict[str, Any] = {"slack_signing_secret": SecretStr(credentials.signing_secret)}
    if credentials.bot_token:
        overrides["slack_bot_token"] = SecretStr(credentials.bot_token)
    try:
        return Settings(_env_file=None, **overrides)  # type: ignore[call-arg]  # Lambda: no .env
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        raise ConfigError(f"{name} is invalid: {first['msg']}") from None
