"""`python -m bot console`: talk to the bot in the terminal, no Slack workspace needed.

Also what `python -m bot` runs when no Slack token is set. Messages are read one per line, so
`printf 'hi\\n' | python -m bot console` works; the `you> ` prompt appears only on a terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Any

from bot.config import ConfigError, Settings

PROMPT = "you> "


def add_parser(commands: Any) -> None:
    console = commands.add_parser(
        "console", help="a Slack-like thread in the terminal (continues the latest thread)"
    )
    console.add_argument(
        "--new", action="store_true", help="start a new thread instead of continuing the latest"
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.console import Console
    from bot.model.access import choose_console_model
    from bot.wiring import build_dependencies

    if "log_level" not in settings.model_fields_set:
        # Library INFO lines (one per HTTP request) would bury the conversation.
        logging.getLogger().setLevel(logging.WARNING)
    choice = choose_console_model(settings)
    if choice.note:
        print(choice.note, file=sys.stderr)
    settings = choice.settings
    _check_table(settings)
    print(_describe(settings), file=sys.stderr)
    console = Console(
        conversation=build_dependencies(settings).conversation, out=sys.stdout, info=sys.stderr
    )
    console.start(new_thread=bool(getattr(args, "new", False)))
    return console.run(_lines())


def _describe(settings: Settings) -> str:
    if settings.dynamodb_table:
        store = f"DynamoDB table {settings.dynamodb_table} ({settings.aws_region})"
    else:
        store = f"SQLite file {settings.sqlite_path}"
    return f"History in {store}; model {settings.resolved_model_id} ({settings.model_provider})."


def _check_table(settings: Settings) -> None:
    if not settings.dynamodb_table:
        return
    from bot.store.table import describe_table_problem
    from bot.wiring import dynamodb_client

    problem = describe_table_problem(
        dynamodb_client(settings), settings.dynamodb_table, settings.aws_region
    )
    if problem:
        raise ConfigError(problem)


def _lines() -> Iterator[str]:
    """One message per line: from a prompt on a terminal, else straight from the pipe."""
    if not sys.stdin.isatty():
        yield from sys.stdin
        return
    with contextlib.suppress(ImportError):
        import readline  # noqa: F401 - line editing and history for input()
    while True:
        try:
            yield input(PROMPT)
        except EOFError:
            print(file=sys.stdout)
            return
