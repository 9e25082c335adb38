"""Flood benchmark: follow-ups poured into threads while the bot answers there, and one @mention
elsewhere that must not wait behind them; ours next to a baseline commit, in the same run.

    .venv/bin/python bench/flood.py                      # about 5 minutes on 2 cores
    .venv/bin/python bench/flood.py --shapes 160x1 --baseline-commit HEAD~1

Each row starts the real bot (`python -m bot serve` of the tree) against the fake Slack Web API,
the fake Bedrock (every answer takes `--latency` seconds) and DynamoDB Local. One thread per
flooded thread is started with an @mention; while its answer is being written, the shape's
follow-ups are POSTed into the flooded threads as fast as 8 senders can, and then an @mention
starts another thread. "other thread s" is the time from that mention's POST to its whole answer
in Slack; "turns" are the model calls made for the flooded threads after their first answer;
"stored" counts the follow-ups found in the table afterwards; "flood done s" is the time from
the first follow-up to the flooded threads' last answer.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import re
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import boto3  # noqa: E402

from bench.load_report import describe_machine  # noqa: E402
from bench.load_trees import Tree, checkout, describe_commit, prepare_tables, start_bot  # noqa: E402
from tests.fakes._clock import next_ts  # noqa: E402
from tests.fakes.bedrock import FakeBedrock, content_text  # noqa: E402
from tests.fakes.signing import app_mention, event_callback, message, post_event  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402

BASELINE_COMMIT = "ed064d8"
CHANNEL, OTHER_CHANNEL = "C0FLOOD", "C0OTHER"
QUESTION = re.compile(r"question (\d+) of thread (\d+)\b")
SENDERS = 8
TIMEOUT_SECONDS = 300


@dataclass(frozen=True)
class Shape:
    """`follow_ups` in total, spread round robin over `threads` threads."""

    follow_ups: int
    threads: int

    @property
    def name(self) -> str:
        return f"{self.follow_ups}x{self.threads}"

    @classmethod
    def parse(cls, text: str) -> Shape:
        follow_ups, _, threads = text.partition("x")
        return cls(int(follow_ups), int(threads or 1))


@dataclass
class Row:
    shape: Shape
    setup: str
    is_baseline: bool
    other_seconds: float
    turns: int
    stored: int
    flood_seconds: float
    sent_seconds: float

    def cells(self) -> list[str]:
        return [self.shape.name, self.setup, f"{self.shape.follow_ups}", f"{self.sent_seconds:.2f}",
                f"{self.other_seconds:.2f}", f"{self.turns}", f"{self.stored}/{self.shape.follow_ups}",
                f"{self.flood_seconds:.1f}"]


HEADER = ["shape", "setup", "follow-ups", "sent in s", "other thread s", "turns", "stored",
          "flood done s"]


def answer_to_last(body: dict[str, Any]) -> str:
    last = content_text(body["messages"][-1]["content"]).splitlines()[-1]
    return f"answer to [{last}]"


def wait_until(condition: Callable[[], bool], what: str, timeout: float = TIMEOUT_SECONDS) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.02)


def stored_questions(dynamodb: Any, table: str, sessions: set[str]) -> set[tuple[int, int]]:
    """(question, thread) of every follow-up whose text is in an item of `sessions`, whatever
    the tree's item layout."""
    found: set[tuple[int, int]] = set()
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = dynamodb.scan(**request)
        for item in page.get("Items", []):
            if item.get("SessionId", {}).get("S") in sessions:
                found |= {(int(q), int(t)) for q, t in QUESTION.findall(json.dumps(item))}
        if "LastEvaluatedKey" not in page:
            return found
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run_row(tree: Tree, shape: Shape, *, env: dict[str, str], slack: FakeSlack,
            bedrock: FakeBedrock, dynamodb: Any, log_dir: Path, is_baseline: bool) -> Row:
    log_path = log_dir / f"bot-{tree.table}-{shape.name}.log"
    bot = start_bot(tree.root, "http", {**env, "DYNAMODB_TABLE": tree.table}, log_path=log_path)
    url = f"http://127.0.0.1:{bot.port}/slack/events"
    run = uuid.uuid4().hex[:6]
    roots = [next_ts() for _ in range(shape.threads)]
    sessions = {f"T1:{CHANNEL}:{root}" for root in roots}
    try:
        for index, root in enumerate(roots):
            event = app_mention(channel=CHANNEL, user="U_ANA", ts=root,
                                text=f"<@U_BOT> start thread {index} {run}")
            post_event(url, event_callback(event), SIGNING_SECRET)
        wait_until(lambda: len(bedrock.requests) >= shape.threads, "the first answers to start")
        first_turns = len(bedrock.requests)
        follow_ups = [
            event_callback(message(
                channel=CHANNEL, user=("U_ANA", "U_BO")[n % 2], channel_type="channel",
                ts=next_ts(), thread_ts=roots[n % shape.threads],
                text=f"question {n} of thread {n % shape.threads} {run}"))
            for n in range(shape.follow_ups)
        ]
        flood_started = time.monotonic()
        with ThreadPoolExecutor(SENDERS) as senders:
            statuses = list(senders.map(lambda e: post_event(url, e, SIGNING_SECRET)[0], follow_ups))
        sent_seconds = time.monotonic() - flood_started
        if set(statuses) != {200}:
            raise RuntimeError(f"follow-ups acknowledged with {sorted(set(statuses))}")
        other_ts = next_ts()
        other_started = time.monotonic()
        post_event(url, event_callback(app_mention(
            channel=OTHER_CHANNEL, user="U_CY", ts=other_ts, text=f"<@U_BOT> elsewhere {run}")),
            SIGNING_SECRET)
        wanted = f"answer to [elsewhere {run}]"
        wait_until(lambda: slack.thread_texts(OTHER_CHANNEL, other_ts) == [wanted],
                   "the other thread's answer")
        other_seconds = time.monotonic() - other_started
        last = range(shape.follow_ups - shape.threads, shape.follow_ups)  # one per thread
        # The answer names the last line it was sent, "Name: question …" in a two-person thread.
        wanted_last = [f"question {n} of thread {n % shape.threads} {run}]" for n in last]

        def flood_answered() -> bool:
            shown = [text for root in roots for text in slack.thread_texts(CHANNEL, root)]
            return bedrock.in_flight == 0 and all(
                any(text.endswith(wanted) for text in shown) for wanted in wanted_last)

        wait_until(flood_answered, "the flooded threads' last answers")
        flood_seconds = time.monotonic() - flood_started
        turns = len([r for r in bedrock.requests[first_turns:]
                     if run in bedrock.all_text_sent(r) and "elsewhere" not in bedrock.all_text_sent(r)])
        with contextlib.suppress(TimeoutError):  # what is missing then shows in "stored"
            wait_until(lambda: len(stored_questions(dynamodb, tree.table, sessions))
                       >= shape.follow_ups, "every follow-up to be stored", timeout=10)
    finally:
        bot.stop()
    stored = len(stored_questions(dynamodb, tree.table, sessions))
    bedrock.reset()
    slack.reset()
    return Row(shape, tree.label, is_baseline, other_seconds, turns, stored, flood_seconds,
               sent_seconds)


def table_lines(rows: Sequence[Row]) -> list[str]:
    cells = [HEADER, *[row.cells() for row in rows]]
    widths = [max(len(line[i]) for line in cells) for i in range(len(HEADER))]
    return [" | ".join(value.ljust(width) for value, width in zip(line, widths, strict=True))
            for line in cells]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--shapes", default="160x1,40x1,160x4",
                        help="follow-ups x flooded threads, comma-separated")
    parser.add_argument("--latency", type=float, default=0.5, help="seconds each answer takes")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args(argv)
    shapes = [Shape.parse(part) for part in args.shapes.split(",") if part.strip()]
    os.environ.update(AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake",
                      AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    run = uuid.uuid4().hex[:8]
    trees = [(Tree("ours", ROOT, f"flood-{run}-ours"), False)]
    if not args.no_baseline:
        label = f"baseline {describe_commit(args.baseline_commit).split()[0]}"
        trees.append((Tree(label, checkout(args.baseline_commit), f"flood-{run}-baseline"), True))
    rows: list[Row] = []
    with contextlib.ExitStack() as stack:
        local = DynamoDBLocal().start()
        stack.callback(local.stop)
        slack = FakeSlack(bot_token=BOT_TOKEN).start()
        stack.callback(slack.stop)
        bedrock = FakeBedrock(reply=answer_to_last, latency=args.latency).start()
        stack.callback(bedrock.stop)
        log_dir = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {**local.env(), "SLACK_API_URL": slack.url, "BEDROCK_ENDPOINT_URL": bedrock.url,
               "MODEL_PROVIDER": "bedrock", "LOG_LEVEL": "INFO", "UPDATE_INTERVAL_SECONDS": "0.1"}
        prepare_tables([tree for tree, _ in trees], env, threads=[], turns=0)
        dynamodb = boto3.client("dynamodb", region_name="us-east-1",
                                endpoint_url=local.endpoint_url)
        for index, shape in enumerate(shapes):
            # Alternate which tree goes first, so a slow moment of the machine falls on both.
            for tree, is_baseline in trees if index % 2 == 0 else trees[::-1]:
                print(f"running {shape.name}: {tree.label}…", file=sys.stderr)
                rows.append(run_row(tree, shape, env=env, slack=slack, bedrock=bedrock,
                                    dynamodb=dynamodb, log_dir=log_dir, is_baseline=is_baseline))
    rows.sort(key=lambda row: (shapes.index(row.shape), row.is_baseline))
    print("\n".join([
        f"{time.strftime('%Y-%m-%d')}, {describe_machine()}",
        f"model: {args.latency:.1f} s per answer; HTTP, {SENDERS} senders",
        *([f"baseline: {describe_commit(args.baseline_commit)}"] if not args.no_baseline else []),
        "", *table_lines(rows),
    ]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
