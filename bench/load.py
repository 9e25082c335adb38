"""Load benchmark: can one bot process answer 100 simultaneous conversations?

    .venv/bin/python bench/load.py                  # about 6 minutes on 2 cores
    .venv/bin/python bench/load.py --threads 1,10 --latency 1
    .venv/bin/python bench/load.py --threads 100 --no-baseline --transport socket

Runs the real bot (`python -m bot serve`, a separate process, so its memory and CPU are its
own) against the fake Slack Web API, the fake Bedrock (ConverseStream with a configurable
latency and token rate) and DynamoDB Local. Every thread already holds a long history, which
each turn loads. For 1, 10 and 100 concurrent threads it prints one table: our configuration
next to the baseline, Bolt's default of 5 listener workers (WORKER_THREADS=5). Our
configuration runs on both transports: HTTP (signed POSTs, the HTTP response is the ack) and
Socket Mode (`python -m bot socket`, events_api envelopes from a fake Socket Mode server, the
envelope_id sent back on the socket is the ack); the baseline runs on HTTP only.
"""

from __future__ import annotations

import argparse
import math
import os
import platform
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from bench.load_burst import (  # noqa: E402
    ANSWER,
    BurstResult,
    LoadThread,
    fire_burst,
    prefill_history,
    turn_cpu_ms,
)
from bench.load_client import Sender  # noqa: E402
from bench.load_socket import fire_socket_burst, start_socket_mode_bot  # noqa: E402
from bench.load_socket_server import SocketServer  # noqa: E402
from bot.store.table import create_table  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_process import BotProcess  # noqa: E402
from tests.support.bot_server import BOT_TOKEN  # noqa: E402
from tests.support.dynamodb_local import DynamoDBLocal  # noqa: E402

CHARS_PER_TOKEN = 4  # FakeBedrock streams one 4-character chunk per token
TRANSPORTS = ("http", "socket")


@dataclass(frozen=True)
class Setup:
    name: str
    env: dict[str, str]


@dataclass
class Row:
    setup: str
    transport: str
    threads: int
    latency: float
    rounds: list[BurstResult]
    turn_cpu_ms: list[float]
    cpu_ms_per_answer: dict[str, float]
    machine_busy: float
    peak_rss_mb: float

    def _all(self, name: str) -> list[float]:
        return [value for result in self.rounds for value in getattr(result, name)]

    @property
    def makespan(self) -> float:
        return max(result.makespan for result in self.rounds)

    @property
    def answers(self) -> int:
        return sum(result.answers for result in self.rounds)

    @property
    def events(self) -> int:
        return sum(result.events for result in self.rounds)

    @property
    def slack_calls(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for result in self.rounds:
            total += result.slack_calls
        return total

    def cells(self) -> list[str]:
        calls_per_answer = sum(self.slack_calls.values()) / max(self.answers, 1)
        answered = "" if self.answers == self.events else f" ({self.answers}/{self.events} answered)"
        return [
            self.setup,
            self.transport,
            str(self.threads),
            f"{self.latency:.1f}",
            f"{self.makespan:.2f}{answered}",
            f"{self.makespan / self.latency:.2f}",
            f"{percentile(self._all('ack_ms'), 50):.0f}",
            f"{percentile(self._all('ack_ms'), 99):.0f}",
            f"{percentile(self._all('status_ms'), 95):.0f}",
            f"{percentile(self.turn_cpu_ms, 50):.1f}",
            f"{calls_per_answer:.1f}",
            str(max(result.max_appends_per_second for result in self.rounds)),
            f"{self.peak_rss_mb:.0f}",
        ]


HEADER = [
    "setup", "transport", "threads", "model s", "makespan s", "÷ latency", "ack p50 ms", "ack p99 ms",
    "status p95 ms", "overhead p50 ms", "Slack calls/answer", "max appends/s", "peak RSS MB",
]


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, math.ceil(pct / 100 * len(ordered)) - 1)]


class PeakMemory:
    """The process's peak resident memory: sampled with psutil, and the kernel's own
    high-water mark (VmHWM) where Linux offers it."""

    def __init__(self, pid: int) -> None:
        self._process = psutil.Process(pid)
        self._peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            try:
                self._peak = max(self._peak, self._process.memory_info().rss)
            except psutil.Error:
                return

    def stop(self) -> float:
        """Peak RSS in MB (call before the process exits)."""
        self._stop.set()
        self._thread.join()
        try:
            for line in Path(f"/proc/{self._process.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    self._peak = max(self._peak, int(line.split()[1]) * 1024)
        except OSError:
            pass
        return self._peak / 2**20


class CpuMeter:
    """CPU seconds used since creation by the bot, by DynamoDB Local (a JVM) and by this
    benchmark's own processes (the fake Slack and Bedrock servers, the sender)."""

    def __init__(self, bot_pid: int) -> None:
        me = psutil.Process()
        others = [child for child in me.children(recursive=True) if child.pid != bot_pid]
        self._groups = {
            "bot": [psutil.Process(bot_pid)],
            "DynamoDB Local": [c for c in others if c.name() == "java"],
            "fakes and load generator": [me] + [c for c in others if c.name() != "java"],
        }
        self._start = self._now()

    def _now(self) -> dict[str, float]:
        return {name: sum(sum(p.cpu_times()[:2]) for p in processes)
                for name, processes in self._groups.items()}

    def used(self) -> dict[str, float]:
        now = self._now()
        return {name: now[name] - self._start[name] for name in now}


def rounds_for(threads: int) -> int:
    """Enough rounds for at least 10 events per row."""
    return max(1, math.ceil(10 / threads))


def run_row(
    setup: Setup, threads: int, *, transport: str, sender: Sender, socket_server: SocketServer,
    base_env: dict[str, str], slack: FakeSlack, pool: list[LoadThread], latency: float,
    log_dir: Path,
) -> Row:
    log_path = log_dir / f"bot-{setup.name}-{transport}-{threads}.log"
    env = {**base_env, **setup.env}
    if transport == "socket":
        bot: BotProcess = start_socket_mode_bot(socket_server, env, log_path=log_path)

        def fire(chosen: list[LoadThread]) -> BurstResult:
            return fire_socket_burst(socket_server, slack, chosen)
    else:
        bot = BotProcess(env, log_path=log_path).start()

        def fire(chosen: list[LoadThread]) -> BurstResult:
            return fire_burst(sender, bot.port, slack, chosen)
    memory = PeakMemory(bot.pid)
    timed, spare = pool[: len(pool) // 2], pool[len(pool) // 2 :]
    try:
        # Warm-up, untimed: imports, connection pools and the first calls of each kind.
        fire(spare[:threads])
        results = []
        meter, started = CpuMeter(bot.pid), time.monotonic()
        for number in range(rounds_for(threads)):
            chosen = [timed[(number * threads + i) % len(timed)] for i in range(threads)]
            results.append(fire(chosen))
        cpu, wall = meter.used(), time.monotonic() - started
        time.sleep(0.2)  # the per-turn log lines are written just after the last Slack call
        peak = memory.stop()
    finally:
        bot.stop()
    sessions = [s for r in results for s in r.sessions]
    answers = max(sum(r.answers for r in results), 1)
    return Row(setup.name, transport, threads, latency, results, turn_cpu_ms(log_path, sessions),
               {name: seconds * 1000 / answers for name, seconds in cpu.items()},
               sum(cpu.values()) / (wall * (psutil.cpu_count() or 1)), peak)


def print_table(rows: list[Row], out: list[str]) -> None:
    table = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(r[i]) for r in table) for i in range(len(HEADER))]
    for index, cells in enumerate(table):
        out.append("| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) + " |")
        if index == 0:
            out.append("|" + "|".join("-" * (w + 2) for w in widths) + "|")


def describe_machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = psutil.virtual_memory().total / 2**30
    return (f"{psutil.cpu_count()} CPUs ({cpu}), {memory:.0f} GB RAM, "
            f"{platform.system()} {platform.release()}, Python {platform.python_version()}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", default="1,10,100", help="concurrent threads per row")
    parser.add_argument("--latency", type=float, default=2.0,
                        help="seconds one model answer takes, first token to last")
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--answer-tokens", type=int, default=60)
    parser.add_argument("--slack-latency", type=float, default=0.05,
                        help="seconds the fake Slack takes per Web API call")
    parser.add_argument("--history-turns", type=int, default=50)
    parser.add_argument("--baseline-workers", type=int, default=5)
    parser.add_argument("--no-baseline", action="store_true")
    parser.add_argument("--transport", default=",".join(TRANSPORTS),
                        help="how events reach the bot: http, socket or both (the baseline "
                        "runs on http only); a Socket Mode ack of 200 means the envelope_id "
                        "came back, 0 that it never did")
    args = parser.parse_args(argv)
    counts = [int(part) for part in args.threads.split(",")]
    transports = [part.strip() for part in args.transport.split(",") if part.strip()]
    if not transports or not set(transports) <= set(TRANSPORTS):
        parser.error(f"--transport takes a comma-separated list of {', '.join(TRANSPORTS)}")
    streaming = (args.answer_tokens - 1) / args.tokens_per_second
    if streaming > args.latency:
        parser.error("--answer-tokens at --tokens-per-second takes longer than --latency")

    os.environ.update(AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake",
                      AWS_CONFIG_FILE="/dev/null", AWS_SHARED_CREDENTIALS_FILE="/dev/null")
    reply = (ANSWER * 10)[: args.answer_tokens * CHARS_PER_TOKEN]
    out: list[str] = []
    sender = Sender()
    socket_server = SocketServer()
    dynamodb = DynamoDBLocal().start()
    slack = FakeSlack(bot_token=BOT_TOKEN, latency=args.slack_latency).start()
    slack.socket_mode_url = socket_server.url
    bedrock = FakeBedrock(reply=reply, latency=args.latency - streaming,
                          tokens_per_second=args.tokens_per_second,
                          chunk_chars=CHARS_PER_TOKEN).start()
    try:
        table = f"load-{uuid.uuid4().hex[:8]}"
        client = dynamodb.client()
        create_table(client, table)
        # Half the threads are measured, half are for warming up.
        pool = [LoadThread(index) for index in range(2 * max(counts))]
        started = time.monotonic()
        prefill_history(client, table, pool, args.history_turns)
        print(f"history: {len(pool)} threads x {args.history_turns} turns written in "
              f"{time.monotonic() - started:.1f} s", file=sys.stderr)
        base_env = {
            **dynamodb.env(),
            "SLACK_API_URL": slack.url,
            "DYNAMODB_TABLE": table,
            "BEDROCK_ENDPOINT_URL": bedrock.url,
            "MODEL_PROVIDER": "bedrock",
            "LOG_LEVEL": "INFO",
        }
        # (setup, the transports it runs on): the baseline is Bolt's default on HTTP only.
        setups = [(Setup("ours", {}), transports)]
        if not args.no_baseline and "http" in transports:
            setups.append((Setup(f"baseline ({args.baseline_workers} workers)",
                                 {"WORKER_THREADS": str(args.baseline_workers)}), ["http"]))
        rows = []
        with tempfile.TemporaryDirectory() as logs:
            # DynamoDB Local is a JVM: its first thousand requests run slowly until the JIT has
            # compiled them, which would penalise whichever row ran first.
            print("warming up DynamoDB Local…", file=sys.stderr)
            run_row(setups[0][0], max(counts), transport=transports[0], sender=sender,
                    socket_server=socket_server, base_env=base_env, slack=slack, pool=pool,
                    latency=args.latency, log_dir=Path(logs))
            for setup, setup_transports in setups:
                for transport in setup_transports:
                    for count in counts:
                        print(f"running {setup.name} over {transport}, {count} threads…",
                              file=sys.stderr)
                        rows.append(run_row(setup, count, transport=transport, sender=sender,
                                            socket_server=socket_server, base_env=base_env,
                                            slack=slack, pool=pool, latency=args.latency,
                                            log_dir=Path(logs)))
                        bedrock.reset()
        out.append(f"{time.strftime('%Y-%m-%d')}, {describe_machine()}")
        out.append(
            f"model: {args.latency:.1f} s per answer ({args.answer_tokens} tokens at "
            f"{args.tokens_per_second:.0f}/s after {args.latency - streaming:.2f} s to the first), "
            f"Slack: {args.slack_latency * 1000:.0f} ms per call, history: "
            f"{args.history_turns} turns per thread"
        )
        out.append("")
        print_table(rows, out)
        out.append("")
        for row in rows:
            calls = row.slack_calls
            per_answer = ", ".join(f"{m} {n / max(row.answers, 1):.2f}" for m, n in sorted(calls.items()))
            statuses = dict(sum((r.ack_statuses for r in row.rounds), Counter()))
            cpu = ", ".join(f"{name} {ms:.0f}" for name, ms in row.cpu_ms_per_answer.items())
            out.append(f"- {row.setup} over {row.transport}, {row.threads} threads: "
                       f"CPU ms per answer: {cpu}; "
                       f"all CPUs {row.machine_busy:.0%} busy; ack statuses {statuses}; "
                       f"overhead p95 {percentile(row.turn_cpu_ms, 95):.1f} ms; "
                       f"Slack calls per answer: {per_answer}")
    finally:
        bedrock.stop()
        slack.stop()
        dynamodb.stop()
        sender.close()
        socket_server.close()
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
