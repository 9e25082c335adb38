"""The code trees the load benchmark runs side by side: ours (this checkout) and a baseline
commit, extracted beside it. Each tree's bot runs from the tree itself (cwd and PYTHONPATH) with
the same interpreter, against the same fakes and DynamoDB Local, on a table of its own.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.load_burst import ANSWER, QUESTION, LoadThread
from bench.load_socket_server import SocketServer
from tests.support.bot_process import BotProcess
from tests.support.socket_mode_bot import SocketModeBotProcess

ROOT = Path(__file__).resolve().parents[1]
TABLE_SETUP = Path(__file__).with_name("load_table_setup.py")


@dataclass(frozen=True)
class Tree:
    """`label` names the tree in the table; `table` is its own DynamoDB table."""

    label: str
    root: Path
    table: str


def _git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(ROOT), *args], capture_output=True, text=True,
                          check=True).stdout.strip()


def describe_commit(commit: str) -> str:
    """`commit` as "<short id> <subject>"."""
    return _git("log", "-1", "--format=%h %s", commit)


def checkout(commit: str) -> Path:
    """The files of `commit`, extracted once into the system temp dir and reused by later runs."""
    sha = _git("rev-parse", "--verify", f"{commit}^{{commit}}")
    target = Path(tempfile.gettempdir()) / f"claude-slack-bot-bench-{sha}"
    if target.is_dir():
        return target
    # Extracted beside the target and renamed into place, so a half-written tree is never reused.
    staging = Path(tempfile.mkdtemp(prefix=f"{target.name}.", dir=target.parent))
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", sha],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(staging, filter="data")
    try:
        staging.rename(target)
    except OSError:  # another run extracted it meanwhile
        shutil.rmtree(staging)
    return target


def tree_env(root: Path) -> dict[str, str]:
    return {"PYTHONPATH": str(root)}


def prepare_tables(trees: Sequence[Tree], env: dict[str, str], *, threads: Sequence[LoadThread],
                   turns: int) -> None:
    """Create every tree's table and fill `threads` with `turns` turns, each by its tree's code."""
    job = {"turns": turns, "question": QUESTION, "answer": ANSWER,
           "threads": [[t.session_id, t.user, t.index] for t in threads]}
    running = []
    for tree in trees:
        process = subprocess.Popen(
            [sys.executable, "-P", str(TABLE_SETUP)], cwd=tree.root, stdin=subprocess.PIPE,
            env={**os.environ, **env, **tree_env(tree.root)},
        )
        assert process.stdin is not None
        process.stdin.write(json.dumps({**job, "table": tree.table}).encode())
        process.stdin.close()
        running.append(process)
    for tree, process in zip(trees, running, strict=True):
        if process.wait() != 0:
            raise RuntimeError(f"setting up the table of {tree.label} failed")


class _InTree(BotProcess):
    """`python -m bot` run from `root`, so it imports that tree's `bot` and reads its `.env`."""

    def _process_env(self) -> dict[str, str]:
        return {**self._env, **tree_env(self.root)}


class _InTreeSocketMode(SocketModeBotProcess, _InTree):
    pass


def start_bot(root: Path, transport: str, env: dict[str, str], *, log_path: Path,
              socket_server: SocketServer | None = None) -> BotProcess:
    """The bot of the tree at `root`, serving HTTP or connected to `socket_server` (the fake
    Slack must answer apps.connections.open with `socket_server.url`)."""
    bot: _InTree
    if transport == "socket":
        assert socket_server is not None, "Socket Mode needs the benchmark's socket server"
        bot = _InTreeSocketMode(env, connections=socket_server.connections, log_path=log_path)
    else:
        bot = _InTree(env, log_path=log_path)
    bot.root = root
    return bot.start()
