"""`python -m bot history show|forget|import-legacy`: operators reading and managing threads.

Works on whichever store the bot uses: DynamoDB when DYNAMODB_TABLE is set, else the SQLite
file. `import-legacy` reads the old table through the same DynamoDB settings (region, endpoint).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from typing import Any

from bot.config import Settings
from bot.core.conversation import USAGE
from bot.core.ports import MessageStore
from bot.core.records import StoredMessage
from bot.wiring import build_store, dynamodb_client

SESSION_HELP = "the thread's session id, team_id:channel_id:thread_ts"


def add_parser(commands: Any) -> None:
    history = commands.add_parser("history", help="show, forget or import stored threads")
    actions = history.add_subparsers(dest="history_action", required=True)
    show = actions.add_parser("show", help="print a thread's stored messages, oldest first")
    show.add_argument("session_id", help=SESSION_HELP)
    forget = actions.add_parser(
        "forget", help="delete a thread's memory, or one person's messages from every thread"
    )
    target = forget.add_mutually_exclusive_group(required=True)
    target.add_argument("session_id", nargs="?", help=SESSION_HELP)
    target.add_argument("--user", dest="user_id", help="a Slack user id (U…): forget that person")
    legacy = actions.add_parser(
        "import-legacy",
        help="copy sessions from a table written by LangChain's DynamoDBChatMessageHistory",
    )
    legacy.add_argument("--table", required=True, help="the old table (SessionId, History)")
    legacy.add_argument("--session", dest="session_id", help="import only this session")


def run(args: argparse.Namespace, settings: Settings) -> int:
    """StoreUnavailable (a missing table, an outage) is reported by the CLI as one line."""
    store = build_store(settings)
    if args.history_action == "show":
        return show(store, args.session_id)
    if args.history_action == "forget":
        if args.user_id:
            return forget_user(store, args.user_id)
        return forget(store, args.session_id)
    return import_legacy(store, settings, table=args.table, session_id=args.session_id)


def show(store: MessageStore, session_id: str) -> int:
    messages = store.all(session_id)
    if not messages:
        print(f"no stored messages for {session_id}", file=sys.stderr)
        return 1
    for message in messages:
        print(describe(message))
    summary = store.recent(session_id, token_budget=1).state.summary
    if summary.text:
        print(f"summary of the first {summary.count} messages:\n"
              f"{textwrap.indent(summary.text, '    ')}\n")
    print(f"{len(messages)} messages in {session_id}")
    return 0


def describe(message: StoredMessage) -> str:
    """Key, role, author (and an answer's usage) on one line, then the text indented, then a
    blank line."""
    text = textwrap.indent(message.text, "    ", predicate=lambda _: True) or "    (empty)"
    return f"{message.key}  {message.role}  {author_of(message)}{usage_of(message)}\n{text}\n"


def usage_of(message: StoredMessage) -> str:
    if USAGE not in message.metadata:
        return ""
    try:
        usage = json.loads(message.metadata[USAGE])
        return (f"  [{usage['model']}: {usage['in']:,} in, {usage['cache_read']:,} cache read, "
                f"{usage['cache_write']:,} cache write, {usage['out']:,} out, {usage['ms']:,} ms]")
    except (ValueError, KeyError, TypeError):
        return ""  # written by hand or by another version


def author_of(message: StoredMessage) -> str:
    if message.author_name and message.author_id:
        return f"{message.author_name} ({message.author_id})"
    return message.author_name or message.author_id or ("bot" if message.role == "ai" else "-")


def forget(store: MessageStore, session_id: str) -> int:
    deleted = store.forget(session_id)
    print(f"forgot {deleted} messages of {session_id}; nothing from before now is read back")
    return 0


def forget_user(store: MessageStore, user_id: str) -> int:
    report = store.forget_author(user_id)
    print(f"forgot {report.messages} messages of {user_id} (and the answers to them) in "
          f"{report.sessions} threads; nothing of theirs from before now is read back; "
          f"their usage ({report.usage_rows} day counters) now counts as nobody's")
    return 0


def import_legacy(
    store: MessageStore, settings: Settings, *, table: str, session_id: str | None
) -> int:
    from bot.store.legacy_import import import_legacy as copy_sessions

    destination = (
        f"DynamoDB table {settings.dynamodb_table}" if settings.dynamodb_table
        else f"SQLite file {settings.sqlite_path}"
    )
    print(f"importing from DynamoDB table {table} into {destination}", file=sys.stderr)

    def progress(session: str, imported: int, present: int) -> None:
        print(f"  {session}: {imported} imported, {present} already present", file=sys.stderr)

    report = copy_sessions(
        dynamodb_client(settings), table, store, session_id=session_id, on_session=progress
    )
    print(report.summary())
    found = report.sessions + report.expired_sessions + report.forgotten_sessions
    if session_id is not None and found == 0:
        print(f"session {session_id} not found in table {table}", file=sys.stderr)
        return 1
    return 0
