"""`python -m bot …`: run the bot (Socket Mode, HTTP, console) and the operator commands.

Each operator command lives in `bot/commands/<name>.py` with `add_parser(subparsers)` and
`run(args, settings) -> int`; add it to COMMANDS below.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

from bot.config import ConfigError, Settings, load_settings
from bot.core.ports import StoreUnavailable
from bot.logs import setup_logging

log = logging.getLogger("bot")

COMMANDS = ("table", "history", "console", "doctor", "usage", "profiles")

NO_SLACK_TOKENS = (
    "No Slack tokens are set: running a console conversation. To run in Slack, set "
    "SLACK_BOT_TOKEN and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET (README.md > Slack app setup)."
)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command")
    commands.add_parser("run", help="Socket Mode if SLACK_APP_TOKEN is set, HTTP if SLACK_BOT_TOKEN is, "
                        "else the console (default)")
    commands.add_parser("serve", help="HTTP mode: POST /slack/events, GET /healthz on $PORT")
    commands.add_parser("socket", help="Socket Mode (development; needs SLACK_APP_TOKEN)")
    for name in COMMANDS:
        importlib.import_module(f"bot.commands.{name}").add_parser(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
        setup_logging(settings.log_level, message_content=settings.log_message_content)
        return _dispatch(args, settings)
    except ConfigError as error:
        print(f"configuration error: {error}", file=sys.stderr)
        return 2
    except StoreUnavailable as error:
        print(f"store error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    command = args.command or "run"
    if command in COMMANDS:
        return int(importlib.import_module(f"bot.commands.{command}").run(args, settings))
    if command == "run":
        if settings.slack_app_token:
            command = "socket"
        elif settings.slack_bot_token:
            command = "serve"
        else:
            print(NO_SLACK_TOKENS, file=sys.stderr)
            command = "console"
    if command == "console":
        return int(importlib.import_module("bot.commands.console").run(args, settings))
    from bot.runners import run_http, run_socket_mode

    return run_socket_mode(settings) if command == "socket" else run_http(settings)
