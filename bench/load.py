"""Load benchmark: our bot next to a fixed baseline commit, 1 to 100 simultaneous conversations.

    .venv/bin/python bench/load.py                  # about 20 minutes on 2 busy cores
    .venv/bin/python bench/load.py --quick          # about 4: 1 and 100 threads, HTTP only
    .venv/bin/python bench/load.py --threads 1,10 --shape harsh --transport http
    .venv/bin/python bench/load.py --baseline-commit HEAD~1 --threads 100

Runs the real bot (`python -m bot serve`, or `socket` for Socket Mode; a separate process, so
its memory and CPU are its own) against the fake Slack Web API, the fake Bedrock
(ConverseStream at a set latency and token rate) and DynamoDB Local. The same run measures the
baseline: the code of `--baseline-commit` (default ed064d8), extracted once into the system
temp dir and run from there with the same interpreter, fakes and DynamoDB Local, on a table of
its own. Each row is a shape (bench/load_shapes.py: "steady" and "harsh"), a setup, a transport
(signed HTTP POSTs, or events_api envelopes on a WebSocket) and a number of threads
@mentioned at the same instant. "CPU ms/answer" is the user+system CPU of the bot's process
and all its descendants during the timed rounds, over the answers; "CPU vs baseline" is that
over the baseline row with the same shape, transport and threads. `--workers-baseline` adds
our code with Bolt's default of 5 listener workers (HTTP only).
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.load_bedrock import BurstBedrock  # noqa: E402
from bench.load_burst import (  # noqa: E402
    ANSWER,
    BurstResult,
    LoadThread,
    fire_burst,
    turn_cpu_ms,
    wait_for_turn_lines,
)
from bench.load_client import Sender  # noqa: E402
from bench.load_meters import CpuMeter, PeakMemory  # noqa: E402
from bench.load_report import Row, describe_machine, table_lines  # noqa: E402
from bench.load_shapes import (  # noqa: E402
    SHAPE_NAMES,
    FreshThreads,
    PrefilledThreads,
    Shape,
    ThreadSource,
    make_shape,
)
from bench.load_socket import fire_socket_burst  # noqa: E402
from bench.load_socket_server import SocketServer  # noqa: E402
from bench.load_trees import (  # noqa: E402
    Tree,
    checkout,
    describe_commit,
    prepare_tables,
    start_bot,
)
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_server import BOT_TOKEN  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402

CHARS_PER_TOKEN = 4  # FakeBedrock streams one 4-character chunk per token
TRANSPORTS = ("http", "socket")
BASELINE_COMMIT = "ed064d8"


@dataclass(frozen=True)
class Setup:
    tree: Tree
    transports: Sequence[str]
    env: dict[str, str] = field(default_factory=dict)
    is_baseline: bool = False


@dataclass
class Rig:
    """What every row shares: the fakes, the senders, the bots' common settings."""

    sender: Sender
    socket_server: SocketServer
    slack: FakeSlack
    bedrock: BurstBedrock
    env: dict[str, str]
    log_dir: Path
    latency: float


def rounds_for(threads: int, min_events: int) -> int:
    """Enough rounds for at least `min_events` events per row."""
    return max(1, math.ceil(min_events / threads))


def fire(rig: Rig, shape: Shape, transport: str, port: int,
         chosen: list[LoadThread]) -> BurstResult:
    rig.bedrock.expect_burst(len(chosen) if shape.finish_together else None)
    if transport == "socket":
        return fire_socket_burst(rig.socket_server, rig.slack, chosen)
    return fire_burst(rig.sender, port, rig.slack, chosen, keep_alive=shape.keep_alive)


def run_row(rig: Rig, setup: Setup, shape: Shape, source: ThreadSource, *, transport: str,
            threads: int, rounds: int) -> Row:
    tree = setup.tree
    log_path = rig.log_dir / f"bot-{tree.table}-{shape.name}-{transport}-{threads}.log"
    rig.slack.latency = shape.slack_latency
    env = {**rig.env, "DYNAMODB_TABLE": tree.table, **setup.env}
    bot = start_bot(tree.root, transport, env, log_path=log_path, socket_server=rig.socket_server)
    port = bot.port
    memory = PeakMemory(bot.pid)
    try:
        # Warm-up, untimed: imports, connection pools and the first calls of each kind.
        warm_up = fire(rig, shape, transport, port, source.warm_up(threads))
        wait_for_turn_lines(log_path, warm_up.sessions)
        results = []
        meter, started = CpuMeter(bot.pid), time.monotonic()
        for number in range(rounds):
            results.append(fire(rig, shape, transport, port, source.round(number, threads)))
        sessions = [s for r in results for s in r.sessions]
        wait_for_turn_lines(log_path, sessions)
        cpu, wall = meter.used(), time.monotonic() - started
        peak = memory.stop()
    finally:
        bot.stop()
        rig.bedrock.reset()
    answers = max(sum(r.answers for r in results), 1)
    return Row(shape.name, tree.label, setup.is_baseline, transport, threads, rig.latency,
               results, turn_cpu_ms(log_path, sessions),
               {name: seconds * 1000 / answers for name, seconds in cpu.items()},
               sum(cpu.values()) / (wall * (psutil.cpu_count() or 1)), peak)


def planned_rows(shapes: Sequence[Shape], setups: Sequence[Setup], transports: Sequence[str],
                 counts: Sequence[int]) -> Iterator[tuple[Shape, str, int, list[Setup]]]:
    """(shape, transport, threads, the setups to run there), in the order they run."""
    index = 0
    for shape in shapes:
        for transport in transports:
            for count in counts:
                group = [s for s in setups if transport in s.transports]
                # Each pair runs back to back, first one then the other first, so that a
                # slow moment of the machine or an order effect falls on both sides alike.
                yield shape, transport, count, group if index % 2 == 0 else group[::-1]
                index += 1


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--threads", help="concurrent threads per row (default 1,10,100; "
                        "--quick: 1,100)")
    parser.add_argument("--shape", default=",".join(SHAPE_NAMES),
                        help="load shapes: steady, harsh or both")
    parser.add_argument("--transport",
                        help="how events reach the bot: http, socket or both (default both; "
                        "--quick: http); a Socket Mode ack of 200 means the envelope_id came "
                        "back, 0 that it never did")
    parser.add_argument("--latency", type=float, default=2.0,
                        help="seconds one model answer takes, first token to last")
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--answer-tokens", type=int, default=60)
    parser.add_argument("--slack-latency", type=float, default=0.05,
                        help="seconds the fake Slack takes per Web API call (steady shape)")
    parser.add_argument("--history-turns", type=int, default=50,
                        help="turns stored in each thread before the run (steady shape)")
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT,
                        help="the commit whose code is the baseline")
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--workers-baseline", action="store_true",
                        help="also run our code with --baseline-workers listener workers (HTTP)")
    parser.add_argument("--baseline-workers", type=int, default=5)
    parser.add_argument("--quick", action="store_true",
                        help="1 and 100 threads over HTTP, at least 3 events per row instead "
                        "of 10 (--threads and --transport still apply)")
    args = parser.parse_args(argv)
    args.threads = args.threads or ("1,100" if args.quick else "1,10,100")
    args.counts = [int(part) for part in args.threads.split(",")]
    args.transport = args.transport or ("http" if args.quick else ",".join(TRANSPORTS))
    args.transports = _choices(parser, args.transport, TRANSPORTS, "--transport")
    args.shapes = _choices(parser, args.shape, SHAPE_NAMES, "--shape")
    args.streaming = (args.answer_tokens - 1) / args.tokens_per_second
    if args.streaming > args.latency:
        parser.error("--answer-tokens at --tokens-per-second takes longer than --latency")
    return args


def _choices(parser: argparse.ArgumentParser, value: str, allowed: Sequence[str],
             option: str) -> list[str]:
    chosen = [part.strip() for part in value.split(",") if part.strip()]
    if not chosen or not set(chosen) <= set(allowed):
        parser.error(f"{option} takes a comma-separated list of {', '.join(allowed)}")
    return [name for name in allowed if name in chosen]


def make_setups(args: argparse.Namespace, run: str) -> list[Setup]:
    setups = [Setup(Tree("ours", ROOT, f"load-{run}-ours"), args.transports)]
    if not args.no_baseline:
        label = f"baseline {describe_commit(args.baseline_commit).split()[0]}"
        tree = Tree(label, checkout(args.baseline_commit), f"load-{run}-baseline")
        setups.append(Setup(tree, args.transports, is_baseline=True))
    if args.workers_baseline and "http" in args.transports:
        tree = Tree(f"ours ({args.baseline_workers} workers)", ROOT, f"load-{run}-workers")
        setups.append(Setup(tree, ["http"], {"WORKER_THREADS": str(args.baseline_workers)}))
    return setups


def notes_head(args: argparse.Namespace, shapes: Sequence[Shape]) -> list[str]:
    lines = [
        f"{time.strftime('%Y-%m-%d')}, {describe_machine()}",
        f"model: {args.latency:.1f} s per answer ({args.answer_tokens} tokens at "
        f"{args.tokens_per_second:.0f}/s after {args.latency - args.streaming:.2f} s to the first)",
        *(shape.describe() for shape in shapes),
    ]
    if not args.no_baseline:
        lines.append(f"baseline: {describe_commit(args.baseline_commit)}")
    lines.append("CPU ms/answer: user+system CPU of the bot's process tree during the timed "
                 "rounds / answers; CPU vs baseline: over the baseline row of the same shape, "
                 "transport and threads")
    return lines


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.update(AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake",
                      AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    shapes = [make_shape(name, slack_latency=args.slack_latency, history_turns=args.history_turns)
              for name in args.shapes]
    setups = make_setups(args, uuid.uuid4().hex[:8])
    reply = (ANSWER * 10)[: args.answer_tokens * CHARS_PER_TOKEN]
    with contextlib.ExitStack() as stack:
        sender = Sender()
        stack.callback(sender.close)
        socket_server = SocketServer()
        stack.callback(socket_server.close)
        dynamodb = DynamoDBLocal().start()
        stack.callback(dynamodb.stop)
        slack = FakeSlack(bot_token=BOT_TOKEN).start()
        stack.callback(slack.stop)
        slack.socket_mode_url = socket_server.url
        bedrock = BurstBedrock(reply=reply, latency=args.latency - args.streaming,
                               tokens_per_second=args.tokens_per_second,
                               chunk_chars=CHARS_PER_TOKEN).start()
        stack.callback(bedrock.stop)
        logs = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        env = {**dynamodb.env(), "SLACK_API_URL": slack.url, "BEDROCK_ENDPOINT_URL": bedrock.url,
               "MODEL_PROVIDER": "bedrock", "LOG_LEVEL": "INFO"}
        rig = Rig(sender, socket_server, slack, bedrock, env, logs, args.latency)
        rows = run_all(rig, args, shapes, setups)
    out = [*notes_head(args, shapes), "", *table_lines(rows), ""]
    out += [row.note() for row in rows]
    print("\n".join(out))
    return 0


def run_all(rig: Rig, args: argparse.Namespace, shapes: Sequence[Shape],
            setups: Sequence[Setup]) -> list[Row]:
    # Half the prefilled threads are measured, half are for warming up.
    pool = [LoadThread(index) for index in range(2 * max(args.counts))]
    steady = [shape for shape in shapes if not shape.fresh_threads]
    started = time.monotonic()
    prepare_tables([s.tree for s in setups], rig.env, threads=pool if steady else [],
                   turns=steady[0].history_turns if steady else 0)
    print(f"tables: {len(setups)} x {len(pool) if steady else 0} threads x "
          f"{args.history_turns if steady else 0} turns written in "
          f"{time.monotonic() - started:.1f} s", file=sys.stderr)
    sources: dict[str, ThreadSource] = {"steady": PrefilledThreads(pool),
                                        "harsh": FreshThreads(len(pool))}
    min_events = 3 if args.quick else 10
    # DynamoDB Local is a JVM: its first thousand requests run slowly until the JIT has
    # compiled them, which would penalise whichever row ran first. Both trees warm it alike.
    print("warming up DynamoDB Local…", file=sys.stderr)
    for setup in (s for s in setups if s is setups[0] or s.is_baseline):
        run_row(rig, setup, shapes[0], sources[shapes[0].name], transport=args.transports[0],
                threads=max(args.counts), rounds=1)
    rows = []
    for shape, transport, count, group in planned_rows(shapes, setups, args.transports,
                                                       args.counts):
        measured = {}
        for setup in group:
            print(f"running {shape.name}: {setup.tree.label} over {transport}, {count} "
                  f"threads…", file=sys.stderr)
            measured[setup.tree.label] = run_row(rig, setup, shape, sources[shape.name],
                                                 transport=transport, threads=count,
                                                 rounds=rounds_for(count, min_events))
        rows += [measured[s.tree.label] for s in setups if s.tree.label in measured]
    return rows


if __name__ == "__main__":
    raise SystemExit(main())
