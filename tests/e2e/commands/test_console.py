"""`python -m bot console` as a real process: the same conversation core, prompt building and
store as Slack, driven one line per message through stdin, answering through the real
ChatBedrockConverse against the wire-level fake Bedrock."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path

from tests.e2e.commands.conftest import RunBot
from tests.fakes.bedrock import FakeBedrock, content_text

SESSION = re.compile(r"^console:local:\d{10}\.\d{6}$")


def numbered_reply(body: dict) -> str:
    return f"answer #{len(body['messages'])}"


def stored_sessions(path: Path) -> list[str]:
    with sqlite3.connect(path) as db:
        return [row[0] for row in db.execute("SELECT DISTINCT session_id FROM messages")]


def test_two_turns_the_second_prompt_contains_the_first(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str], tmp_path: Path
) -> None:
    fake_bedrock.reply = lambda body: "Nice to meet you, Lee." if len(body["messages"]) == 1 \
        else "Your name is Lee."

    run = run_bot(["My name is Lee.", "Do you remember my name?"], **bedrock_env)

    assert run.returncode == 0, run.stderr
    assert run.lines == ["Nice to meet you, Lee.", "Your name is Lee."]
    first, second = fake_bedrock.requests
    assert [m["role"] for m in first.messages] == ["user"]
    assert [(m["role"], content_text(m["content"])) for m in second.messages] == [
        ("user", "My name is Lee."),
        ("assistant", "Nice to meet you, Lee."),
        ("user", "Do you remember my name?"),
    ]
    assert second.streaming
    [session] = stored_sessions(tmp_path / "history.sqlite3")
    assert SESSION.match(session)


def test_a_second_run_continues_the_latest_thread(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    fake_bedrock.reply = numbered_reply
    first = run_bot(["My name is Lee."], **bedrock_env)

    second = run_bot(["Do you remember my name?"], **bedrock_env)

    assert (first.returncode, second.returncode) == (0, 0)
    assert "Continuing thread" in second.stderr and "(2 messages" in second.stderr
    assert "My name is Lee." in fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert second.lines == ["answer #3"]


def test_new_threads_open_and_history(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    fake_bedrock.reply = numbered_reply
    run = run_bot([
        "My name is Lee.",
        "/new",
        "What is two plus two?",
        "/threads",
        "/open 2",
        "/history",
        "Who am I?",
        "/quit",
        "never read",
    ], **bedrock_env)

    assert run.returncode == 0, run.stderr
    answers, threads, history, last = run.lines[:2], run.lines[2:4], run.lines[4:6], run.lines[6:]
    assert answers == ["answer #1", "answer #1"]  # the new thread started empty
    assert re.match(r"^\*  1  \d+\.\d{6}    2 messages  What is two plus two\?$", threads[0])
    assert re.match(r"^   2  \d+\.\d{6}    2 messages  My name is Lee\.$", threads[1])
    assert history == ["you: My name is Lee.", "bot: answer #1"]
    assert last == ["answer #3"]  # back in the first thread, with its history
    assert "My name is Lee." in fake_bedrock.all_text_sent()
    assert "two plus two" not in fake_bedrock.all_text_sent()
    assert len(fake_bedrock.requests) == 3  # nothing after /quit was sent


def test_open_by_thread_id_and_unknown_ids(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str], tmp_path: Path
) -> None:
    fake_bedrock.reply = numbered_reply
    run_bot(["First thread."], **bedrock_env)
    [session] = stored_sessions(tmp_path / "history.sqlite3")
    thread_ts = session.rsplit(":", 1)[1]

    run = run_bot(["/new", "Second thread.", f"/open {thread_ts}", "/history", "/open 123.456",
                   "/open"], **bedrock_env)

    assert run.returncode == 0
    assert run.lines == ["answer #1", "you: First thread.", "bot: answer #1"]
    assert f"Opened thread {thread_ts} (2 messages)." in run.stderr
    assert run.stderr.count("No thread") == 2


def test_end_of_input_exits_zero_and_stdout_holds_only_answers(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    fake_bedrock.reply = "Hello."

    run = run_bot(["", "Hi", "   ", "/history", "/help", "/nonsense"], **bedrock_env)

    assert run.returncode == 0
    assert run.lines == ["Hello.", "you: Hi", "bot: Hello."]
    assert "you>" not in run.stdout + run.stderr  # the prompt is for terminals only
    assert "/new starts a thread" in run.stderr and "Unknown command" in run.stderr


def test_an_empty_store_has_no_threads_or_history(
    run_bot: RunBot, bedrock_env: dict[str, str]
) -> None:
    run = run_bot(["/threads", "/history"], **bedrock_env)

    assert run.returncode == 0
    assert run.stdout == ""
    assert "New thread" in run.stderr
    assert "No threads yet" in run.stderr and "no messages yet" in run.stderr


def test_model_failure_is_one_friendly_line_and_the_question_is_kept(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    fake_bedrock.fail_next("access_denied")

    run = run_bot(["Hello?", "/history"], **bedrock_env)

    assert run.returncode == 0
    assert run.lines[0].startswith("I can't reach Claude: the model isn't enabled")
    assert run.lines[1:] == ["you: Hello?"]
    assert "AccessDenied" not in run.stdout


def test_without_slack_tokens_python_m_bot_runs_the_console(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    fake_bedrock.reply = "Hi from the console."

    run = run_bot(["Hello"], "run", **bedrock_env)
    bare = run_bot(["/history"], "--help")

    assert run.returncode == 0
    assert run.lines == ["Hi from the console."]
    [notice] = [line for line in run.stderr.splitlines() if "Slack" in line]
    assert notice.startswith("No Slack tokens are set: running a console conversation.")
    assert "console" in bare.stdout and "doctor" in bare.stdout


def test_message_text_is_logged_only_when_asked(
    run_bot: RunBot, fake_bedrock: FakeBedrock, bedrock_env: dict[str, str]
) -> None:
    quiet = run_bot(["a secret plan"], LOG_LEVEL="DEBUG", **bedrock_env)
    loud = run_bot(["/new", "an open plan"], LOG_LEVEL="DEBUG", LOG_MESSAGE_CONTENT="true",
                   **bedrock_env)

    assert "a secret plan" not in quiet.stderr
    assert "prompt for console:local:" in loud.stderr and '"an open plan"' in loud.stderr
