"""The boto3 DynamoDB client, built once per process with explicit timeouts and retries.

botocore's defaults (60 s timeouts, 10 connections) would let one slow DynamoDB call hold a
Slack worker for minutes and would make WORKER_THREADS answers queue for 10 sockets.
"""

from __future__ import annotations

from typing import Any

import boto3
from botocore.config import Config

CONNECT_TIMEOUT_SECONDS = 3
READ_TIMEOUT_SECONDS = 5
TOTAL_ATTEMPTS = 3  # the first try and two retries
DEFAULT_POOL_CONNECTIONS = 128  # WORKER_THREADS' default


def client_config(pool_connections: int = DEFAULT_POOL_CONNECTIONS) -> Config:
    return Config(
        retries={"mode": "standard", "total_max_attempts": TOTAL_ATTEMPTS},
        connect_timeout=CONNECT_TIMEOUT_SECONDS,
        read_timeout=READ_TIMEOUT_SECONDS,
        # One connection per listener thread: no answer waits for a socket (docs/scaling.md).
        max_pool_connections=pool_connections,
        # Every request is built by this package's own tested code, and DynamoDB validates it
        # again; botocore's check of each attribute costs a tenth of a request's CPU.
        parameter_validation=False,
    )


def make_dynamodb_client(
    *, region: str, endpoint_url: str | None = None, session: boto3.Session | None = None,
    pool_connections: int = DEFAULT_POOL_CONNECTIONS,
) -> Any:
    """`endpoint_url` points it at DynamoDB Local; `session` fixes credentials (tests)."""
    return (session or boto3.Session()).client(
        "dynamodb", region_name=region, endpoint_url=endpoint_url,
        config=client_config(pool_connections),
    )
