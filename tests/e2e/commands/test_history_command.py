"""`python -m bot history …` against DynamoDB Local and SQLite; the legacy import reads a
table written by the real LangChain DynamoDBChatMessageHistory."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

from bot.core.conversation import USAGE, usage_json
from bot.core.records import StoredMessage, Summary, Usage, UsageRecord, sort_key
from bot.store.dynamodb import DynamoDBMessageStore
from bot.store.legacy_import import legacy_key
from bot.store.sqlite import SQLiteMessageStore
from tests.e2e.commands.conftest import LegacyHistory, RunCli

SESSION = "T1:C1:1700000001.000100"
OTHER = "T1:C1:1700000002.000100"
REPO = Path(__file__).resolve().parents[3]


def fill_legacy_sessions(legacy_history: LegacyHistory) -> None:
    first = legacy_history(SESSION)
    first.add_user_message("My name is Lee.")
    first.add_ai_message("Nice to meet you, Lee.")
    first.add_messages([SystemMessage("be nice"), HumanMessage("Ana here: hi!", name="Ana")])
    first.add_ai_message("Hello Ana.")
    second = legacy_history(OTHER)
    second.add_messages([HumanMessage("line one\nline two"), AIMessage("ok")])


def test_import_legacy_copies_every_session_once(
    legacy_history: LegacyHistory, legacy_table: str, dynamodb_env: dict[str, str], run_cli: RunCli
) -> None:
    fill_legacy_sessions(legacy_history)

    first = run_cli("history", "import-legacy", "--table", legacy_table, env=dynamodb_env)
    again = run_cli("history", "import-legacy", "--table", legacy_table, env=dynamodb_env)

    assert first.code == again.code == 0
    assert first.out.strip() == (
        "sessions: 2, messages imported: 6, already present: 0, skipped: 1, "
        "expired sessions skipped: 0, forgotten sessions skipped: 0"
    )
    assert again.out.strip() == (
        "sessions: 2, messages imported: 0, already present: 6, skipped: 1, "
        "expired sessions skipped: 0, forgotten sessions skipped: 0"
    )
    assert f"{SESSION}: 4 imported, 0 already present" in first.err

    shown = run_cli("history", "show", SESSION, env=dynamodb_env)
    assert shown.code == 0
    texts = ["My name is Lee.", "Nice to meet you, Lee.", "Ana here: hi!", "Hello Ana."]
    positions = [shown.out.index(text) for text in texts]
    assert positions == sorted(positions)
    assert "be nice" not in shown.out
    assert f"{legacy_key(3, 'human')}  human  Ana\n    Ana here: hi!" in shown.out
    assert shown.out.rstrip().endswith(f"4 messages in {SESSION}")
    multi_line = run_cli("history", "show", OTHER, env=dynamodb_env).out
    assert "    line one\n    line two\n" in multi_line


def test_imported_history_comes_before_new_messages(
    legacy_history: LegacyHistory, legacy_table: str, dynamodb_env: dict[str, str],
    run_cli: RunCli, dynamodb_client: Any, table_name: str,
) -> None:
    fill_legacy_sessions(legacy_history)
    run_cli("history", "import-legacy", "--table", legacy_table, env=dynamodb_env)

    store = DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=3600)
    store.append(SESSION, [StoredMessage.human(ts="1700000009.000100", text="new question")])

    messages = store.all(SESSION)
    assert [m.text for m in messages][-2:] == ["Hello Ana.", "new question"]
    assert [m.role for m in messages] == ["human", "ai", "human", "ai", "human"]
    assert messages[0].metadata == {"imported_from": legacy_table}


def test_import_legacy_one_session_into_sqlite(
    legacy_history: LegacyHistory, legacy_table: str, sqlite_env: dict[str, str], run_cli: RunCli
) -> None:
    fill_legacy_sessions(legacy_history)

    result = run_cli("history", "import-legacy", "--table", legacy_table, "--session", OTHER,
                     env=sqlite_env)

    assert result.code == 0
    assert "sessions: 1, messages imported: 2, already present: 0" in result.out
    assert "into SQLite file" in result.err
    store = SQLiteMessageStore(sqlite_env["SQLITE_PATH"], ttl_seconds=0)
    assert [m.text for m in store.all(OTHER)] == ["line one\nline two", "ok"]
    assert store.all(SESSION) == []
    missing = run_cli("history", "import-legacy", "--table", legacy_table, "--session", "nope",
                      env=sqlite_env)
    assert missing.code == 1 and "session nope not found" in missing.err


def test_import_legacy_leaves_expired_sessions_out(
    legacy_history: LegacyHistory, legacy_table: str, dynamodb_env: dict[str, str], run_cli: RunCli
) -> None:
    legacy_history(SESSION, ttl=-60).add_user_message("expired a minute ago")
    legacy_history(OTHER, ttl=3600).add_user_message("still alive")

    result = run_cli("history", "import-legacy", "--table", legacy_table, env=dynamodb_env)

    assert "sessions: 1, messages imported: 1" in result.out
    assert "expired sessions skipped: 1" in result.out


def test_import_legacy_never_brings_a_forgotten_session_back(
    legacy_history: LegacyHistory, legacy_table: str, dynamodb_env: dict[str, str],
    run_cli: RunCli, dynamodb_client: Any, table_name: str,
) -> None:
    fill_legacy_sessions(legacy_history)
    store = DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=3600)
    store.forget(SESSION)

    result = run_cli("history", "import-legacy", "--table", legacy_table, env=dynamodb_env)

    assert result.code == 0
    assert result.out.strip() == (
        "sessions: 1, messages imported: 2, already present: 0, skipped: 0, "
        "expired sessions skipped: 0, forgotten sessions skipped: 1"
    )
    assert store.all(SESSION) == []
    assert [m.text for m in store.all(OTHER)] == ["line one\nline two", "ok"]


def test_import_legacy_names_a_missing_table(dynamodb_env: dict[str, str], run_cli: RunCli) -> None:
    result = run_cli("history", "import-legacy", "--table", "no-such-table", env=dynamodb_env)
    assert result.code == 1
    assert "no-such-table" in result.err and "does not exist" in result.err


def seed(store: Any) -> None:
    store.append(SESSION, [
        StoredMessage.human(ts="1700000001.000100", text="hello", author_id="U_ANA",
                            author_name="Ana"),
        StoredMessage.answer(question_ts="1700000001.000100", text="Hi Ana!\nHow can I help?",
                             metadata={USAGE: usage_json(Usage(1200, 34, 5000, 60, "m-1", 812))}),
        StoredMessage.human(ts="1700000003.000100", text="bye", author_id="U_BO"),
    ])
    store.append(OTHER, [StoredMessage.human(ts="1700000002.000100", text="elsewhere")])
    store.save_summary(SESSION, Summary("Ana said hello.", sort_key("1700000003.000100"), 2))


@pytest.mark.parametrize("backend", ["dynamodb", "sqlite"])
def test_show_then_forget(
    backend: str, request: pytest.FixtureRequest, run_cli: RunCli, dynamodb_client: Any
) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{backend}_env")
    if backend == "dynamodb":
        seed(DynamoDBMessageStore(dynamodb_client, env["DYNAMODB_TABLE"], ttl_seconds=3600))
    else:
        seed(SQLiteMessageStore(env["SQLITE_PATH"], ttl_seconds=3600))

    shown = run_cli("history", "show", SESSION, env=env)
    assert shown.code == 0
    assert shown.out == (
        f"{sort_key('1700000001.000100')}  human  Ana (U_ANA)\n    hello\n\n"
        f"{sort_key('1700000001.000100', '1')}  ai  bot  [m-1: 1,200 in, 5,000 cache read, "
        "60 cache write, 34 out, 812 ms]\n    Hi Ana!\n    How can I help?\n\n"
        f"{sort_key('1700000003.000100')}  human  U_BO\n    bye\n\n"
        "summary of the first 2 messages:\n    Ana said hello.\n\n"
        f"3 messages in {SESSION}\n"
    )

    forgotten = run_cli("history", "forget", SESSION, env=env)
    assert (forgotten.code, forgotten.out) == (
        0, f"forgot 3 messages of {SESSION}; nothing from before now is read back\n"
    )

    after = run_cli("history", "show", SESSION, env=env)
    assert after.code == 1 and f"no stored messages for {SESSION}" in after.err
    assert "elsewhere" in run_cli("history", "show", OTHER, env=env).out
    again = run_cli("history", "forget", SESSION, env=env).out
    assert again.startswith(f"forgot 0 messages of {SESSION};")


@pytest.mark.parametrize("backend", ["dynamodb", "sqlite"])
def test_forget_a_person_everywhere(
    backend: str, request: pytest.FixtureRequest, run_cli: RunCli, dynamodb_client: Any
) -> None:
    env: dict[str, str] = request.getfixturevalue(f"{backend}_env")
    store: Any = (DynamoDBMessageStore(dynamodb_client, env["DYNAMODB_TABLE"], ttl_seconds=3600)
                  if backend == "dynamodb" else SQLiteMessageStore(env["SQLITE_PATH"], ttl_seconds=3600))
    seed(store)
    store.add_usage(UsageRecord("2026-12-02", SESSION, "U_ANA", Usage(1200, 34, model_id="m-1"),
                                answers=1))

    forgotten = run_cli("history", "forget", "--user", "U_ANA", env=env)

    assert (forgotten.code, forgotten.out) == (
        0, "forgot 1 messages of U_ANA (and the answers to them) in 1 threads; nothing of "
        "theirs from before now is read back; their usage (1 day counters) now counts as "
        "nobody's\n")
    shown = run_cli("history", "show", SESSION, env=env).out
    assert "hello" not in shown and "Hi Ana!" not in shown and "bye" in shown
    assert [(r.user_id, r.usage.input_tokens) for r in store.usage(["2026-12-02"])] == [
        ("", 1200)]


def test_history_show_as_a_real_process(dynamodb_env: dict[str, str], dynamodb_client: Any,
                                        tmp_path: Path) -> None:
    seed(DynamoDBMessageStore(dynamodb_client, dynamodb_env["DYNAMODB_TABLE"], ttl_seconds=3600))
    env = {**os.environ, **dynamodb_env, "PYTHONPATH": str(REPO)}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "history", "show", SESSION],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "Hi Ana!" in done.stdout and done.stdout.endswith(f"3 messages in {SESSION}\n")
