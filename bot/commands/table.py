"""`python -m bot table create|check`."""

from __future__ import annotations

from bot.config import Settings
from bot.wiring import dynamodb_client


def run_table_command(settings: Settings, action: str) -> int:
    from bot.store.table import create_table, describe_table_problem

    settings.require("dynamodb_table")
    name = settings.dynamodb_table or ""
    client = dynamodb_client(settings)
    if action == "create":
        created = create_table(client, name)
        verb = "created" if created else "already exists;"
        print(f"table {name} {verb} in {settings.aws_region} (on-demand, TTL on ExpiresAt)")
        return 0
    problem = describe_table_problem(client, name, settings.aws_region)
    print(problem or f"table {name} in {settings.aws_region} is ready")
    return 1 if problem else 0
