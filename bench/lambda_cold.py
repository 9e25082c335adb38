"""Lambda cold start: from Slack's signed event to the ack, and to the answer, in fresh
interpreters, for the handler of a baseline commit and this checkout's, side by side.

    .venv/bin/python bench/lambda_cold.py               # about 2 minutes on 2 cores
    .venv/bin/python bench/lambda_cold.py --runs 11 --baseline ed064d8 --store sqlite

Each run is a cold start as Lambda has one: a new `python` process imports
`bot.lambda_handler` (init) and handles one signed function-URL event (the ack). The Invoke it
sends reaches a fake Lambda endpoint, and the queued invocation is then run the same way, in a
second new process (a cold lazy container): that one writes the answer into the fake Slack
from the fake Bedrock and stores the turn (DynamoDB Local, or the SQLite store). The Slack
credentials come from a fake Secrets Manager, as in the deployment. The baseline runs from its
own copy of the tree (git archive) with PYTHONPATH pointing at it; both use this interpreter.
Runs alternate between the two handlers; one untimed run of each comes first (bytecode and
file caches, as a deployed package has them). Times are wall-clock from starting the process,
so they include the interpreter's start, as Lambda's init does. SnapStart cannot be measured
here (no snapshots outside Lambda).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import queue
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.store.table import create_table  # noqa: E402
from tests.e2e.aws_lambda.fake_aws import (  # noqa: E402
    ACCESS_KEY_ID,
    SECRET_ACCESS_KEY,
    FakeLambda,
    FakeSecretsManager,
    Invocation,
)
from tests.e2e.aws_lambda.lambda_events import FUNCTION_ARN, FUNCTION_NAME, function_url_event  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402
from tests.fakes.signing import app_mention, event_callback  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402

BASELINE_COMMIT = "ed064d8"
CHANNEL = "C0COLD"
SECRET_ID = "arn:aws:secretsmanager:us-east-1:123456789012:secret:claude-slack-bot/slack-AbCdEf"
PROCESS_TIMEOUT_SECONDS = 120
# One Lambda invocation in a fresh interpreter: the event on stdin, the time it was handled on
# stdout (the same script for both handlers; only PYTHONPATH differs).
INVOCATION = f"""
import json, sys, time
event = json.loads(sys.stdin.readline())
from bot import lambda_handler

class Context:
    function_name, invoked_function_arn = {FUNCTION_NAME!r}, {FUNCTION_ARN!r}
    function_version, memory_limit_in_mb, aws_request_id = "1", 1024, "bench"
    def get_remaining_time_in_millis(self):
        return 300_000

response = lambda_handler.handler(event, Context())
print(json.dumps({{"at": time.time(), "status": response.get("statusCode"),
                  "module": lambda_handler.__file__}}), flush=True)
"""


@dataclass
class Run:
    ack: float  # s from starting the first process to its ack
    lazy: float  # s from starting the lazy invocation's process to its answer
    answer: float  # s from starting the first process to the answer


@dataclass
class Handler:
    name: str
    root: Path
    runs: list[Run] = field(default_factory=list)
    store: dict[str, str] = field(default_factory=dict)  # its own table or file: layouts differ


class Bench:
    def __init__(self, store: str) -> None:
        self.slack = FakeSlack(bot_token=BOT_TOKEN).start()
        self.bedrock = FakeBedrock().start()
        self.secrets = FakeSecretsManager().start()
        self.secrets.secrets[SECRET_ID] = json.dumps(
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_SIGNING_SECRET": SIGNING_SECRET})
        self.invoked: queue.Queue[Invocation] = queue.Queue()
        self.lambda_api = FakeLambda(on_invocation=self.invoked.put).start()
        self.scratch = tempfile.TemporaryDirectory(prefix="lambda-cold-")
        self.dynamodb = DynamoDBLocal().start() if store == "dynamodb" else None
        self.environment = self._environment()

    def _environment(self) -> dict[str, str]:
        environment = {name: value for name, value in os.environ.items()
                       if not name.startswith(("SLACK_", "AWS_", "DYNAMODB_", "MODEL_"))}
        environment |= {
            "SLACK_SECRET_ID": SECRET_ID, "SLACK_API_URL": self.slack.url,
            "AWS_REGION": "us-east-1", "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
            "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY, "AWS_CONFIG_FILE": "/dev/null",
            "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "AWS_ENDPOINT_URL_LAMBDA": self.lambda_api.base_url,
            "AWS_ENDPOINT_URL_SECRETS_MANAGER": self.secrets.base_url,
            "MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": self.bedrock.url,
            "SYSTEM_PROMPT": "You are a test bot.", "LAMBDA_MAX_EVENT_AGE_SECONDS": "240",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        }
        return environment

    def give_store(self, handler: Handler) -> None:
        """A table (or SQLite file) of its own for each handler."""
        name = f"bench-{uuid.uuid4().hex[:8]}"
        if self.dynamodb is not None:
            create_table(self.dynamodb.client(), name)
            handler.store = {"DYNAMODB_TABLE": name, "DYNAMODB_ENDPOINT_URL": self.dynamodb.endpoint_url}
        else:
            handler.store = {"SQLITE_PATH": str(Path(self.scratch.name) / f"{name}.sqlite3")}

    def stop(self) -> None:
        for fake in (self.slack, self.bedrock, self.secrets, self.lambda_api):
            fake.stop()
        if self.dynamodb is not None:
            self.dynamodb.stop()
        self.scratch.cleanup()

    def cold_run(self, handler: Handler, number: int) -> Run:
        ts = f"{1700000000 + number}.000100"
        event = function_url_event(event_callback(
            app_mention(channel=CHANNEL, user="U_ANA", text=f"<@U_BOT> question {number}", ts=ts)))
        started = time.time()
        acked = self._invoke(handler, event, "ack")
        invocation = self.invoked.get(timeout=PROCESS_TIMEOUT_SECONDS)
        lazy_started = time.time()
        answered = self._invoke(handler, invocation.payload, "lazy")
        texts = self.slack.thread_texts(CHANNEL, ts)
        if texts != [f"Answer to: question {number}"]:
            raise RuntimeError(f"{handler.name}: run {number} answered {texts} in Slack")
        return Run(acked - started, answered - lazy_started, answered - started)

    def _invoke(self, handler: Handler, event: dict[str, Any], what: str) -> float:
        environment = self.environment | handler.store | {"PYTHONPATH": str(handler.root)}
        with tempfile.TemporaryFile() as stderr:
            done = subprocess.run(
                [sys.executable, "-c", INVOCATION], input=json.dumps(event) + "\n",
                stdout=subprocess.PIPE, stderr=stderr, text=True, cwd=handler.root,
                env=environment, timeout=PROCESS_TIMEOUT_SECONDS, check=False,
            )
            stderr.seek(0)
            errors = stderr.read().decode(errors="replace")
        lines = done.stdout.strip().splitlines()
        report = json.loads(lines[-1]) if done.returncode == 0 and lines else None
        if report is None or report["status"] != 200:
            raise RuntimeError(f"{handler.name} {what} invocation failed:\n{errors[-3000:]}")
        if not report["module"].startswith(str(handler.root)):
            raise RuntimeError(f"{handler.name} ran {report['module']}, not its own handler")
        return float(report["at"])


def baseline_tree(commit: str, folder: Path) -> Path:
    """The baseline commit's files, extracted once (git archive: no worktree to clean up)."""
    if not (folder / "bot" / "lambda_handler.py").exists():
        folder.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(["git", "-C", str(ROOT), "archive", commit], check=True,
                                 capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def summary(values: list[float]) -> str:
    ms = sorted(v * 1000 for v in values)
    return f"{statistics.median(ms):6.0f} ({ms[0]:.0f}–{ms[-1]:.0f})"


def table(handlers: list[Handler]) -> list[str]:
    base, new = handlers
    lines = [
        f"Lambda cold start, {len(new.runs)} runs each, median (min–max) in ms; "
        f"{platform.python_version()}, {os.cpu_count()} CPUs",
        "",
        "| handler | event → ack | lazy invocation: start → answer | event → answer |",
        "|---|---|---|---|",
    ]
    for handler in handlers:
        runs = handler.runs
        lines.append(f"| {handler.name} | {summary([r.ack for r in runs])} | "
                     f"{summary([r.lazy for r in runs])} | {summary([r.answer for r in runs])} |")

    def ratio(pick: Any) -> str:
        return f"{statistics.median(map(pick, new.runs)) / statistics.median(map(pick, base.runs)):.0%}"

    lines.append(f"| this / baseline | {ratio(lambda r: r.ack)} | {ratio(lambda r: r.lazy)} | "
                 f"{ratio(lambda r: r.answer)} |")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--baseline", default=BASELINE_COMMIT, help="commit of the baseline handler")
    parser.add_argument("--baseline-dir", type=Path, help="default: /tmp/baseline-<commit>")
    parser.add_argument("--store", choices=("dynamodb", "sqlite"), default="dynamodb")
    args = parser.parse_args(argv)

    baseline_root = baseline_tree(args.baseline, args.baseline_dir or Path(f"/tmp/baseline-{args.baseline}"))
    handlers = [Handler(f"baseline {args.baseline}", baseline_root), Handler("this checkout", ROOT)]
    bench = Bench(args.store)
    try:
        for handler in handlers:
            bench.give_store(handler)
        number = 0
        for handler in handlers:  # warm-up, untimed
            number += 1
            bench.cold_run(handler, number)
        for run in range(args.runs):
            for handler in handlers if run % 2 == 0 else handlers[::-1]:
                number += 1
                handler.runs.append(bench.cold_run(handler, number))
                print(f"{handler.name}: run {len(handler.runs)} ack {handler.runs[-1].ack * 1000:.0f} ms",
                      file=sys.stderr, flush=True)
    finally:
        bench.stop()
    print("\n".join(table(handlers)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
