"""Retry benchmark: is every event answered exactly once when Slack delivers it four times?

    .venv/bin/python bench/retries.py                 # about a minute on 2 cores
    .venv/bin/python bench/retries.py --events 300 --latency 1

Two bot processes (`python -m bot serve`) stand behind a load balancer that Slack hits with
each of N @mentions 4 times: the original delivery and retries 1-3 (`X-Slack-Retry-Num`,
reason `http_timeout`), all at once, two deliveries to each replica, so duplicates race
inside a process and across processes. Slack is the fake Web API, Claude the fake Bedrock
(its latency keeps the first answer in progress while the retries arrive), the store
DynamoDB Local.

Two rows: our claims (one table shared by both replicas: each person's message is its own
claim) and the
baseline, claims kept per process (each replica its own SQLite file: dedupe by event id in
memory or a local file, as many bots do), which cannot see the other replica's claims.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bot.core.records import SessionKey  # noqa: E402
from bot.store.sqlite import SQLiteMessageStore  # noqa: E402
from bot.store.table import create_table  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402
from tests.fakes.signing import app_mention, event_callback  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_process import BotProcess  # noqa: E402
from tests.support.bot_server import BOT_TOKEN  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402

TEAM, CHANNEL = "T1", "C0BENCH"
RETRY_NUMS: tuple[int | None, ...] = (None, 1, 2, 3)


@dataclass
class Result:
    setup: str
    events: int
    deliveries: int
    acked: int
    model_calls: int
    replies: Counter[int]
    stored: int
    lost: int
    seconds: float

    @property
    def duplicates(self) -> int:
        return self.deliveries - self.events


def make_events(count: int) -> list[dict[str, Any]]:
    base = int(time.time()) - 60
    return [
        event_callback(app_mention(channel=CHANNEL, user=f"U{n:04d}", team=TEAM,
                                   text=f"<@U_BOT> question {n}", ts=f"{base}.{n:06d}"),
                       team_id=TEAM)
        for n in range(count)
    ]


def deliver(bots: list[BotProcess], events: list[dict[str, Any]], *, seed: int) -> int:
    """Post every event once per RETRY_NUMS, all at once in random order; return the 200s."""
    deliveries = [
        (bots[(index + attempt) % len(bots)], event, retry_num)
        for index, event in enumerate(events)
        for attempt, retry_num in enumerate(RETRY_NUMS)
    ]
    random.Random(seed).shuffle(deliveries)

    def post(delivery: tuple[BotProcess, dict[str, Any], int | None]) -> int:
        bot, event, retry_num = delivery
        retry = {"retry_num": retry_num, "retry_reason": "http_timeout"} if retry_num else {}
        return bot.post(event, timeout=30, **retry)[0]

    with ThreadPoolExecutor(max_workers=64) as pool:
        return sum(status == 200 for status in pool.map(post, deliveries))


def wait_until_quiet(slack: FakeSlack, bedrock: FakeBedrock, *, expected: int,
                     timeout: float = 300) -> None:
    """Until every event got an answer closed and nothing new happened for two seconds."""
    deadline = time.monotonic() + timeout
    last, quiet_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        seen = len(slack.calls)
        closed = len(slack.calls_to("chat.stopStream")) + len(slack.calls_to("chat.postMessage"))
        if seen != last:
            last, quiet_since = seen, time.monotonic()
        elif closed >= expected and bedrock.in_flight == 0 and time.monotonic() - quiet_since > 2:
            return
        time.sleep(0.2)


def count_replies(slack: FakeSlack, events: list[dict[str, Any]]) -> Counter[int]:
    return Counter(len(slack.thread_messages(CHANNEL, e["event"]["ts"])) for e in events)


def dynamodb_messages(client: Any, table: str) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    request: dict[str, Any] = {"TableName": table, "ConsistentRead": True}
    while True:
        page = client.scan(**request)
        items += [i for i in page["Items"] if "Role" in i]  # messages, not bare claims
        if "LastEvaluatedKey" not in page:
            return items
        request["ExclusiveStartKey"] = page["LastEvaluatedKey"]


def run(setup: str, *, events: list[dict[str, Any]], envs: list[dict[str, str]],
        slack: FakeSlack, bedrock: FakeBedrock, log_dir: Path, seed: int,
        stored_roles: Any) -> Result:
    slack.reset()
    bedrock.reset()
    bots = [BotProcess(env, log_path=log_dir / f"{setup}-{n}.log").start()
            for n, env in enumerate(envs)]
    try:
        started = time.monotonic()
        acked = deliver(bots, events, seed=seed)
        wait_until_quiet(slack, bedrock, expected=len(events))
        seconds = time.monotonic() - started
    finally:
        for bot in bots:
            bot.stop()
    roles = stored_roles()  # session id -> roles stored, across every store of the setup
    replies = count_replies(slack, events)
    lost = 0
    for event in events:
        session = SessionKey(TEAM, CHANNEL, event["event"]["ts"]).id
        answered = len(slack.thread_messages(CHANNEL, event["event"]["ts"])) > 0
        lost += not answered or not {"human", "ai"} <= set(roles.get(session, []))
    return Result(setup, len(events), len(events) * len(RETRY_NUMS), acked,
                  len(bedrock.requests), replies, sum(map(len, roles.values())), lost, seconds)


def print_table(results: list[Result]) -> None:
    print()
    print("| setup | events | duplicates delivered | acked 200 | model calls | "
          "replies per event | messages stored | messages lost | seconds |")
    print("|---|---:|---:|---:|---:|---|---:|---:|---:|")
    for r in results:
        spread = ", ".join(f"{n} reply: {c}" if n == 1 else f"{n} replies: {c}"
                           for n, c in sorted(r.replies.items()))
        print(f"| {r.setup} | {r.events} | {r.duplicates} | {r.acked}/{r.deliveries} | "
              f"{r.model_calls} | {spread} | {r.stored} | {r.lost} | {r.seconds:.1f} |")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--latency", type=float, default=0.5,
                        help="seconds Bedrock takes before answering (default 0.5)")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true")
    args = parser.parse_args()

    print(f"# bench/retries.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {platform.node()}: "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
    events = make_events(args.events)
    dynamodb = DynamoDBLocal().start()
    results: list[Result] = []
    try:
        with (FakeSlack(bot_token=BOT_TOKEN) as slack,
              FakeBedrock(latency=args.latency, reply="An answer.") as bedrock,
              tempfile.TemporaryDirectory() as tmp):
            log_dir = Path(tmp)
            base = {**dynamodb.env(), "SLACK_API_URL": slack.url,
                    "BEDROCK_ENDPOINT_URL": bedrock.url, "MODEL_PROVIDER": "bedrock",
                    "LOG_LEVEL": "WARNING", "UPDATE_INTERVAL_SECONDS": "0.1"}

            client = dynamodb.client()
            table = f"bench-retries-{uuid.uuid4().hex[:8]}"
            create_table(client, table)

            def dynamodb_roles() -> dict[str, list[str]]:
                roles: dict[str, list[str]] = {}
                for item in dynamodb_messages(client, table):
                    roles.setdefault(item["SessionId"]["S"], []).append(item["Role"]["S"])
                return roles

            shared = {**base, "DYNAMODB_TABLE": table}
            results.append(run("claims shared in the DynamoDB table (ours)", events=events,
                               envs=[shared, shared], slack=slack, bedrock=bedrock,
                               log_dir=log_dir, seed=args.seed, stored_roles=dynamodb_roles))

            if not args.no_baseline:
                files = [log_dir / f"replica-{n}.sqlite3" for n in range(2)]

                def sqlite_roles() -> dict[str, list[str]]:
                    roles: dict[str, list[str]] = {}
                    for path in files:
                        store = SQLiteMessageStore(path, ttl_seconds=0)
                        for session in store.sessions(limit=10**6):
                            roles.setdefault(session, []).extend(m.role for m in store.all(session))
                    return roles

                per_process = [{**base, "SQLITE_PATH": str(path)} for path in files]
                results.append(run("baseline: claims per process", events=events,
                                   envs=per_process, slack=slack, bedrock=bedrock,
                                   log_dir=log_dir, seed=args.seed, stored_roles=sqlite_roles))
    finally:
        dynamodb.stop()
    print_table(results)
    ours = results[0]
    exact = ours.replies.get(1, 0) == ours.events and ours.lost == 0
    print(f"\nGoal, exactly one reply for every event and nothing lost: "
          f"{'met' if exact else 'NOT met'}.")
    return 0 if exact else 1


if __name__ == "__main__":
    raise SystemExit(main())
