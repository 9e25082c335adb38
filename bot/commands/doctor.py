"""`python -m bot doctor`: check tokens, scopes, the table and model access; send no message."""

from __future__ import annotations

import argparse
import logging
from typing import Any

from bot.config import Settings


def add_parser(commands: Any) -> None:
    doctor = commands.add_parser(
        "doctor", help="check Slack token and scopes, the table and model access (exit 1 on problems)"
    )
    doctor.add_argument(
        "--no-model-request", action="store_true",
        help="do not send the one tiny test request to the model",
    )


def run(args: argparse.Namespace, settings: Settings) -> int:
    from bot.doctor import format_report, run_checks

    if "log_level" not in settings.model_fields_set:
        # Every failure is in the report; the libraries' own error lines would repeat it.
        logging.disable(logging.ERROR)

    checks = run_checks(settings, request_model=not getattr(args, "no_model_request", False))
    print(format_report(checks))
    return 1 if any(check.is_problem for check in checks) else 0
