"""`python -m bot doctor`: check the configuration end to end without sending any message.

Each check reads only: Slack's auth.test (token and the scopes it reports), DescribeTable and
DescribeTimeToLive, and one tiny model request of a few tokens (skippable). The report says
what works and, for everything that does not, the one thing to do about it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from enum import Enum
from pathlib import Path
from typing import Any

from bot.config import ConfigError, Settings

# The bot scopes manifest.yml asks for, and the feature that needs each.
REQUIRED_SCOPES = {
    "app_mentions:read": "@mentions in channels",
    "assistant:write": "the AI-app surface: status, title, suggested prompts",
    "channels:history": "follow-ups in public channel threads",
    "groups:history": "follow-ups in private channel threads",
    "im:history": "direct messages",
    "mpim:history": "group DMs",
    "chat:write": "posting and streaming answers",
    "users:read": "naming the people in a thread",
    "files:read": "reading the files shared in a thread",
    "commands": "the 'Summarize this thread' shortcut",
}
TEST_PROMPT = "Reply with the single word OK."
TEST_MAX_TOKENS = 5
SLACK_TIMEOUT_SECONDS = 10
_APPS_PAGE = "api.slack.com/apps"


class Status(Enum):
    OK = "OK"
    PROBLEM = "PROBLEM"
    SKIPPED = "SKIPPED"


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""

    @property
    def is_problem(self) -> bool:
        return self.status is Status.PROBLEM


def ok(name: str, detail: str) -> Check:
    return Check(name, Status.OK, detail)


def problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, Status.PROBLEM, detail, fix)


def skipped(name: str, detail: str, fix: str = "") -> Check:
    return Check(name, Status.SKIPPED, detail, fix)


def run_checks(settings: Settings, *, request_model: bool = True) -> list[Check]:
    return [
        *check_slack(settings),
        *check_store(settings),
        check_model(settings, request_model=request_model),
        *check_guardrail(settings),
    ]


def check_guardrail(settings: Settings) -> list[Check]:
    """GUARDRAIL_ID: the guardrail exists in the region and is READY (one GetGuardrail)."""
    if not settings.guardrail_id:
        return []
    from bot.model.guardrails import describe_guardrail, find_guardrail_problem

    found = find_guardrail_problem(settings)
    if found is not None:
        return [problem("Guardrail", *found)]
    return [ok("Guardrail", describe_guardrail(settings))]


# --- Slack ----------------------------------------------------------------------------------


def check_slack(settings: Settings) -> list[Check]:
    token = settings.secret("slack_bot_token")
    if not token:
        return [skipped(
            "Slack", "SLACK_BOT_TOKEN is not set: `python -m bot` runs the console",
            "to run in Slack, set SLACK_BOT_TOKEN and SLACK_APP_TOKEN or SLACK_SIGNING_SECRET",
        )]
    from slack_sdk.errors import SlackApiError, SlackClientError

    from bot.slack.client import HINTS, make_web_client

    try:
        client = make_web_client(token, settings.slack_api_url, timeout=SLACK_TIMEOUT_SECONDS)
        response = client.auth_test()
    except SlackApiError as error:
        code = str(error.response.get("error", "unknown"))
        fix = HINTS.get(code, f"see the {code} error in Slack's auth.test documentation")
        return [
            problem("Slack token", f"SLACK_BOT_TOKEN was refused by Slack ({code})", fix),
            skipped("Slack scopes", "not checked: needs a valid token"),
            _check_mode(settings),
        ]
    except (SlackClientError, OSError) as error:
        return [
            problem("Slack token", f"cannot reach Slack at {settings.slack_api_url} "
                    f"({type(error).__name__})", "check the network and SLACK_API_URL"),
            skipped("Slack scopes", "not checked: Slack could not be reached"),
            _check_mode(settings),
        ]
    data: dict[str, Any] = response.data if isinstance(response.data, dict) else {}
    if not data.get("bot_id"):
        token_check = problem(
            "Slack token", f"SLACK_BOT_TOKEN belongs to user {data.get('user')}, not to a bot",
            f"use the Bot User OAuth Token (xoxb-...) from {_APPS_PAGE} > OAuth & Permissions",
        )
    else:
        token_check = ok("Slack token", f"bot @{data.get('user')} ({data.get('user_id')}) in "
                         f"workspace {data.get('team')} ({data.get('team_id')})")
    return [token_check, check_scopes(_header(response.headers, "x-oauth-scopes")),
            _check_mode(settings)]


def check_scopes(granted_header: str | None) -> Check:
    if granted_header is None:
        return skipped("Slack scopes", "Slack did not report the token's scopes (x-oauth-scopes)")
    granted = {scope.strip() for scope in granted_header.split(",") if scope.strip()}
    missing = [scope for scope in REQUIRED_SCOPES if scope not in granted]
    if not missing:
        return ok("Slack scopes", f"all {len(REQUIRED_SCOPES)} scopes the features need")
    needs = "; ".join(f"{scope} ({REQUIRED_SCOPES[scope]})" for scope in missing)
    return problem(
        "Slack scopes", f"missing {needs}",
        f"add them in {_APPS_PAGE} > OAuth & Permissions > Bot Token Scopes (or paste "
        "manifest.yml again), then reinstall the app",
    )


def _check_mode(settings: Settings) -> Check:
    app_token = settings.secret("slack_app_token")
    if app_token:
        if not app_token.startswith("xapp-"):
            return problem("Slack mode", "SLACK_APP_TOKEN is not an app-level token (xapp-...)",
                           f"generate one with connections:write in {_APPS_PAGE} > Basic "
                           "Information > App-Level Tokens")
        return ok("Slack mode", "Socket Mode (SLACK_APP_TOKEN is set)")
    if settings.secret("slack_signing_secret"):
        return ok("Slack mode", "HTTP mode (SLACK_SIGNING_SECRET is set)")
    return problem("Slack mode", "neither SLACK_APP_TOKEN nor SLACK_SIGNING_SECRET is set",
                   "set SLACK_APP_TOKEN for Socket Mode or SLACK_SIGNING_SECRET for HTTP mode")


def _header(headers: Any, name: str) -> str | None:
    for key, value in dict(headers or {}).items():
        if key.lower() == name:
            return str(value[0] if isinstance(value, list) else value)
    return None


# --- store ----------------------------------------------------------------------------------

def check_store(settings: Settings) -> list[Check]:
    if not settings.dynamodb_table:
        return [_check_sqlite(settings.sqlite_path)]
    from bot.store.table import TableProblem, find_table_problem, find_ttl_problem
    from bot.wiring import dynamodb_client

    client = dynamodb_client(settings)
    name, region = settings.dynamodb_table, settings.aws_region

    def as_check(label: str, found: TableProblem | None, fine: str) -> Check:
        if found is None:
            return ok(label, fine)
        return problem(label, found.line.removesuffix(f": {found.fix}"), found.fix)

    table = find_table_problem(client, name, region)
    checks = [as_check("History table", table, f"DynamoDB table {name} in {region}: keys "
                       "SessionId (HASH) and MessageKey (RANGE), ACTIVE")]
    if table is None:
        checks.append(as_check("History TTL", find_ttl_problem(client, name, region),
                               "expired messages and claims are deleted (TTL on ExpiresAt)"))
    else:
        checks.append(skipped("History TTL", "not checked: the table is not usable"))
    return checks


def _check_sqlite(path: Path) -> Check:
    label = "History store"
    fix = "set SQLITE_PATH to a file in a writable folder"
    if path.exists():
        if not os.access(path, os.R_OK | os.W_OK):
            return problem(label, f"SQLite file {path} is not readable and writable", fix)
        return ok(label, f"SQLite file {path} (DYNAMODB_TABLE is not set)")
    folder = next((p for p in path.absolute().parents if p.exists()), None)
    if folder is None or not os.access(folder, os.W_OK):
        return problem(label, f"SQLite file {path} cannot be created in {folder}", fix)
    return ok(label, f"SQLite file {path}, created on first use (DYNAMODB_TABLE is not set)")


# --- model ----------------------------------------------------------------------------------

def check_model(settings: Settings, *, request_model: bool = True) -> Check:
    """The model `python -m bot` would use: as configured in Slack modes, with the console's
    offline fallback when no Slack token is set."""
    from bot.model.access import (
        choose_console_model,
        credentials_fix,
        credentials_problem,
        probe_model,
    )

    label = "Model"
    if not settings.secret("slack_bot_token"):
        try:
            choice = choose_console_model(settings)
        except ConfigError as error:
            return problem(label, str(error), "set the variable it names, or unset MODEL_PROVIDER")
        settings = choice.settings
    what = f"{settings.model_provider} {settings.resolved_model_id}"
    missing = credentials_problem(settings)
    if missing:
        return problem(label, f"{what}: {missing}", credentials_fix(settings))
    if not request_model:
        return skipped(label, f"{what}: no test request sent (--no-model-request)")
    result = probe_model(settings, max_tokens=TEST_MAX_TOKENS, prompt=TEST_PROMPT)
    if not result.answered:
        return problem(label, f"{what}: {result.detail}", result.fix)
    return ok(label, f"{what}: {result.detail}")


# --- report ---------------------------------------------------------------------------------

def format_report(checks: list[Check]) -> str:
    name_width = max(len("Check"), *(len(check.name) for check in checks))
    status_width = max(len(status.value) for status in Status)
    lines = [f"{'Check':<{name_width}}  {'Status':<{status_width}}  Detail"]
    for check in checks:
        lines.append(f"{check.name:<{name_width}}  {check.status.value:<{status_width}}  "
                     f"{check.detail}")
        if check.fix:
            label = "fix" if check.is_problem else "hint"
            lines.append(f"{'':<{name_width + status_width + 4}}{label}: {check.fix}")
    problems = sum(check.is_problem for check in checks)
    lines.append("")
    lines.append(f"{problems} problem(s) found." if problems else "No problems found.")
    return "\n".join(lines)

