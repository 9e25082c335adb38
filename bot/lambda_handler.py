"""AWS Lambda: the same Bolt app behind Bolt's AWS Lambda adapter (docs/deploy-lambda.md).

Slack → function URL → `handler`. The first invocation checks Slack's signature, acknowledges
(HTTP 200 at once) and has Lambda run the lazy listener in a second, asynchronous invocation
of this same function: Bolt's `LambdaLazyListenerRunner` calls `lambda:InvokeFunction` with
`InvocationType=Event` and the original request, marked lazy-only. That invocation answers.
Work after a response is never done here, because Lambda freezes the container once the
handler returns.
"""

from __future__ import annotations

import functools
import json
from typing import Any

from pydantic import ValidationError

from bot.config import ConfigError, Settings

# The lazy invocation is queued by Lambda in milliseconds; the ack waits for this call.
LAMBDA_CONNECT_TIMEOUT_SECONDS = 2
LAMBDA_READ_TIMEOUT_SECONDS = 5


class LambdaSettings(Settings):
    """The bot's settings, plus the Secrets Manager secret that holds the Slack credentials
    (a JSON object with SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET), read at cold start so the
    credentials never appear in the function's configuration."""

    slack_secret_id: str | None = None


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler (`bot.lambda_handler.handler`)."""
    return _ready_request_handler().handle(event, context)


@functools.cache
def _ready_request_handler() -> Any:
    """Built on the first invocation and kept for the container's life.

    Lambda runs one invocation at a time per container and keeps module state between them,
    so imports, clients and auth.test are paid once per cold start instead of once per event.
    Built lazily rather than at import, so importing this module (tests, tooling) does no work.
    """
    from bot.logs import setup_logging

    settings = load_lambda_settings()
    setup_logging(settings.log_level)
    return build_request_handler(settings)


def load_lambda_settings(secrets_client: Any | None = None) -> Settings:
    """Settings from the environment, the Slack credentials from Secrets Manager if
    SLACK_SECRET_ID names a secret."""
    settings = _lambda_settings()
    if not settings.slack_secret_id:
        return settings
    if secrets_client is None:
        import boto3

        secrets_client = boto3.session.Session(region_name=settings.aws_region).client(
            "secretsmanager"
        )
    response = secrets_client.get_secret_value(SecretId=settings.slack_secret_id)
    try:
        values = json.loads(response["SecretString"])
        credentials = {name.lower(): values[name]
                       for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")}
    except (KeyError, TypeError, ValueError):
        raise ConfigError(
            f"SLACK_SECRET_ID {settings.slack_secret_id} must hold a JSON object with "
            "SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET"
        ) from None
    return _lambda_settings(**credentials)


def build_request_handler(settings: Settings, *, lambda_client: Any | None = None) -> Any:
    """Bolt's Lambda request handler around a fresh app whose lazy listeners run in a second
    invocation (`lambda_client`: the client that starts it; built from settings if omitted)."""
    from slack_bolt.adapter.aws_lambda import SlackRequestHandler
    from slack_bolt.adapter.aws_lambda.lazy_listener_runner import LambdaLazyListenerRunner

    from bot.lifecycle import freeze_startup_objects
    from bot.slack.app import create_app
    from bot.wiring import build_dependencies

    settings.require("slack_bot_token", "slack_signing_secret")
    app = create_app(build_dependencies(settings), process_before_response=True)
    request_handler = SlackRequestHandler(app)
    # Bolt would create a default boto3 client on the first event, inside the ack's time;
    # ours exists already and gives up quickly.
    app.listener_runner.lazy_listener_runner = LambdaLazyListenerRunner(
        request_handler.logger, lambda_client=lambda_client or _lambda_client(settings)
    )
    freeze_startup_objects()
    return request_handler


def _lambda_settings(**overrides: Any) -> LambdaSettings:
    try:
        # Lambda has no .env file.
        return LambdaSettings(_env_file=None, **overrides)  # type: ignore[call-arg]
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]).upper() if first["loc"] else "configuration"
        raise ConfigError(f"{name} is invalid: {first['msg']}") from None


def _lambda_client(settings: Settings) -> Any:
    import boto3
    from botocore.config import Config

    config = Config(
        connect_timeout=LAMBDA_CONNECT_TIMEOUT_SECONDS,
        read_timeout=LAMBDA_READ_TIMEOUT_SECONDS,
        retries={"mode": "standard", "total_max_attempts": 2},
    )
    return boto3.session.Session(region_name=settings.aws_region).client("lambda", config=config)
