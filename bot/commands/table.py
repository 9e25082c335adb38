"""`python -m bot table create|check`: the DynamoDB table for history and event claims."""

from __future__ import annotations

import argparse
from typing import Any

from bot.config import Settings
from bot.wiring import dynamodb_client


def add_parser(commands: Any) -> None:
    table = commands.add_parser("table", help="create or check the DynamoDB table")
    table.add_argument("action", choices=["create", "check"])


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.store.table import create_table, describe_table_problem

    settings.require("dynamodb_table")
    name = settings.dynamodb_table or ""
    client = dynamodb_client(settings)
    if args.action == "create":
        created = create_table(client, name)
        state = "created" if created else "already exists"
        print(f"table {name} {state} in {settings.aws_region} (on-demand, TTL on ExpiresAt)")
        return 0
    problem = describe_table_problem(client, name, settings.aws_region)
    print(problem or f"table {name} in {settings.aws_region} is ready")
    return 1 if problem else 0
