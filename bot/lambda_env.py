"""What the Lambda function reads from its environment before the Bolt app exists.

The first invocation (the ack) must not import bot.config: pydantic-settings alone takes about
0.45 s to import, most of a cold ack's budget. So the few variables the ack needs are read here
with the standard library, once per invocation; everything else is still read by
`bot.config.Settings` in the lazy invocation. AWS credentials are the ones the Lambda runtime
puts in the environment (the same variables botocore reads first).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

# The variables only the Lambda function reads (bot.config.Settings ignores them).
LAMBDA_ONLY_VARIABLES = ("SLACK_SECRET_ID", "LAMBDA_MAX_EVENT_AGE_SECONDS")
# Lambda keeps an asynchronous event at most this long by default here: below Slack's 5-minute
# signature window, so an answer is either written within minutes or reported as failed.
DEFAULT_MAX_EVENT_AGE_SECONDS = 240
# Lambda's own bounds for MaximumEventAgeInSeconds.
MIN_EVENT_AGE_SECONDS = 60
MAX_EVENT_AGE_SECONDS = 21600


class LambdaConfigError(Exception):
    """A configuration problem of the Lambda function, worded as one line naming the variable."""


@dataclass(frozen=True)
class AwsCredentials:
    access_key_id: str
    secret_access_key: str = field(repr=False)
    session_token: str | None = field(default=None, repr=False)


@dataclass(frozen=True)
class SlackCredentials:
    signing_secret: str = field(repr=False)
    bot_token: str | None = field(repr=False)  # only the lazy invocation needs it


@dataclass(frozen=True)
class LambdaEnvironment:
    region: str
    slack_secret_id: str | None
    slack_signing_secret: str | None = field(repr=False)
    slack_bot_token: str | None = field(repr=False)
    max_event_age_seconds: int
    initialization_type: str
    endpoints: tuple[tuple[str, str], ...]  # (service, URL); a tuple keeps this hashable

    @classmethod
    def read(cls, environ: Mapping[str, str] | None = None) -> LambdaEnvironment:
        env = os.environ if environ is None else environ
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "us-east-1",
            slack_secret_id=env.get("SLACK_SECRET_ID") or None,
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET") or None,
            slack_bot_token=env.get("SLACK_BOT_TOKEN") or None,
            max_event_age_seconds=_max_event_age(env.get("LAMBDA_MAX_EVENT_AGE_SECONDS")),
            initialization_type=env.get("AWS_LAMBDA_INITIALIZATION_TYPE", ""),
            endpoints=tuple(
                (name, env[variable])
                for name, variable in (("lambda", "AWS_ENDPOINT_URL_LAMBDA"),
                                       ("secretsmanager", "AWS_ENDPOINT_URL_SECRETS_MANAGER"),
                                       ("default", "AWS_ENDPOINT_URL"))
                if env.get(variable)
            ),
        )

    def endpoint(self, service: str) -> str:
        """The service's URL: AWS_ENDPOINT_URL_<SERVICE> or AWS_ENDPOINT_URL as botocore reads
        them (tests point them at fakes), else the regional endpoint."""
        endpoints = dict(self.endpoints)
        custom = endpoints.get(service) or endpoints.get("default")
        if custom:
            return custom.rstrip("/")
        suffix = "amazonaws.com.cn" if self.region.startswith("cn-") else "amazonaws.com"
        return f"https://{service}.{self.region}.{suffix}"

    @property
    def is_primed_at_init(self) -> bool:
        """True where Lambda runs init before any event arrives (SnapStart, provisioned
        concurrency), so work done at import never delays an ack."""
        return self.initialization_type in ("snap-start", "provisioned-concurrency")


def slack_credentials_from_secret(secret_id: str, secret_string: str) -> SlackCredentials:
    """The secret named by SLACK_SECRET_ID: {"SLACK_BOT_TOKEN": ..., "SLACK_SIGNING_SECRET": ...}."""
    try:
        values = json.loads(secret_string)
        token, secret = values["SLACK_BOT_TOKEN"], values["SLACK_SIGNING_SECRET"]
        if not (isinstance(token, str) and isinstance(secret, str) and token and secret):
            raise TypeError
    except (KeyError, TypeError, ValueError):
        raise LambdaConfigError(
            f"SLACK_SECRET_ID {secret_id} must hold a JSON object with "
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"
        ) from None
    return SlackCredentials(signing_secret=secret, bot_token=token)


def slack_credentials_from_environment(environment: LambdaEnvironment) -> SlackCredentials:
    """Without SLACK_SECRET_ID, the credentials are plain variables (local runs, tests)."""
    if not environment.slack_signing_secret:
        raise LambdaConfigError(
            "SLACK_SIGNING_SECRET is not set: set SLACK_SECRET_ID to the Secrets Manager secret "
            "holding the Slack credentials (deploy/template.yaml does), or SLACK_SIGNING_SECRET"
        )
    return SlackCredentials(environment.slack_signing_secret, environment.slack_bot_token)


def aws_credentials(environ: Mapping[str, str] | None = None) -> AwsCredentials:
    """Read at each call: after a SnapStart restore, Lambda sets fresh credentials."""
    env = os.environ if environ is None else environ
    key_id, secret = env.get("AWS_ACCESS_KEY_ID"), env.get("AWS_SECRET_ACCESS_KEY")
    if not key_id or not secret:
        raise LambdaConfigError(
            "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set: Lambda sets them from the "
            "function's execution role; elsewhere, export credentials to run the handler"
        )
    return AwsCredentials(key_id, secret, env.get("AWS_SESSION_TOKEN") or None)


def _max_event_age(value: str | None) -> int:
    if not value:
        return DEFAULT_MAX_EVENT_AGE_SECONDS
    try:
        seconds = int(value)
    except ValueError:
        seconds = 0
    if not MIN_EVENT_AGE_SECONDS <= seconds <= MAX_EVENT_AGE_SECONDS:
        raise LambdaConfigError(
            f"LAMBDA_MAX_EVENT_AGE_SECONDS is invalid: set it to whole seconds between "
            f"{MIN_EVENT_AGE_SECONDS} and {MAX_EVENT_AGE_SECONDS} (the template's MaxEventAgeSeconds)"
        )
    return seconds
