"""AWS Lambda entry point (`bot.lambda_handler.handler`, docs/deploy-lambda.md).

Slack → function URL → `handler`, twice per event:
1. The HTTP request (bot/lambda_ack.py): the signature is checked, Slack gets its answer at
   once and the request is queued as an asynchronous invocation of this same function, through
   the alias it came in on (`context.invoked_function_arn`). Standard library only: a cold ack
   imports nothing heavy.
2. That lazy invocation (bot/lambda_lazy.py): the Bolt app from create_app processes the
   request and its lazy listeners write the answer. Bolt, LangChain and boto3 load here.

Work after a handler returns is never done, because Lambda freezes the container.
"""

from __future__ import annotations

import functools
import importlib
import json
import time
from typing import Any

from bot.lambda_ack import SlackHttpRequest, acknowledge, is_lazy_event
from bot.lambda_aws import LightAwsClient
from bot.lambda_env import (
    LambdaEnvironment,
    SlackCredentials,
    slack_credentials_from_environment,
    slack_credentials_from_secret,
)


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The Lambda handler: a lazy invocation is answered, anything else is an HTTP request."""
    environment = LambdaEnvironment.read()
    if is_lazy_event(event):
        from bot import lambda_lazy

        return lambda_lazy.answer(
            event, context, environment=environment, credentials=slack_credentials(environment)
        )
    aws = LightAwsClient(environment)

    def start_lazy(payload: dict[str, Any]) -> None:
        aws.invoke_async(context.invoked_function_arn, json.dumps(payload).encode())

    return acknowledge(
        SlackHttpRequest.from_event(event),
        signing_secret=slack_credentials(environment).signing_secret,
        start_lazy=start_lazy, now=time.time(),
    )


@functools.cache
def slack_credentials(environment: LambdaEnvironment) -> SlackCredentials:
    """Read once per container (Lambda keeps module state between invocations): from Secrets
    Manager if SLACK_SECRET_ID names a secret, so they never sit in the function's
    configuration."""
    if not environment.slack_secret_id:
        return slack_credentials_from_environment(environment)
    secret = LightAwsClient(environment).get_secret_string(environment.slack_secret_id)
    return slack_credentials_from_secret(environment.slack_secret_id, secret)


# The lazy invocation's modules, including those bot.wiring imports only when it builds the
# DynamoDB store and the Bedrock model (deploy/template.yaml's configuration).
PRIMED_MODULES = ("bot.lambda_lazy", "bot.store.dynamodb", "bot.store.aws",
                  "bot.model.factory", "langchain_aws")


def _prime_for_snapshot() -> None:
    """Under SnapStart (and provisioned concurrency) Lambda runs init before any event, outside
    any ack's time: load the lazy invocation's modules (Bolt, LangChain, boto3: about 2 s) so
    the snapshot holds them. Clients, the secret and auth.test wait for the first invocation:
    a snapshot must not hold connections or credentials."""
    for name in PRIMED_MODULES:
        importlib.import_module(name)


if LambdaEnvironment.read().is_primed_at_init:
    _prime_for_snapshot()
