"""History benchmark: our DynamoDB store against LangChain's DynamoDBChatMessageHistory.

    .venv/bin/python bench/history.py               # about 2 minutes on 2 cores
    .venv/bin/python bench/history.py --quick       # 200 turns, fewer samples
    .venv/bin/python bench/history.py --turns 1000 --endpoint-url http://127.0.0.1:8000

Both run side by side in one DynamoDB Local (started here unless --endpoint-url is given; it
needs `scripts/dynamodb-local.sh install`), with the same messages: a 300-byte question and a
2 KB answer per turn. Prints one table to stdout (progress goes to stderr):
messages lost with 8 concurrent writers on one thread; storage time per turn at turns 1, 50,
150 and 500 (the median of the turns around each) and the ratio turn 150 / turn 1; bytes
written per turn at turn 100 (request bodies, counted at the HTTP client); and the turn at
which each one fails.
"""

from __future__ import annotations

import argparse
import datetime
import os
import platform
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from botocore.exceptions import ClientError  # noqa: E402

from bench.history_subjects import (  # noqa: E402
    ANSWER_BYTES,
    QUESTION_BYTES,
    TOKEN_BUDGET,
    BaselineThread,
    OurThread,
    Tables,
    Traffic,
    TurnTraffic,
    client_of,
)
from tests.support.dynamodb_local import DynamoDBLocal, DynamoDBLocalMissing, find_jar  # noqa: E402

WRITERS = 8
WRITER_TURNS = 10
TIMED_TURNS = (1, 50, 150, 500)
BYTES_TURN = 100


@dataclass
class Sweep:
    """One thread grown turn by turn: what every turn cost until it failed or ended."""

    store_ms: list[float] = field(default_factory=list)
    load_ms: list[float] = field(default_factory=list)
    traffic: list[TurnTraffic] = field(default_factory=list)
    failed_at: int | None = None
    failure: str = ""


@dataclass
class Timings:
    """Median storage and load time of the turns around each timed turn (None: never got
    there, the thread failed first)."""

    store_ms: dict[int, float | None] = field(default_factory=dict)
    load_ms: dict[int, float | None] = field(default_factory=dict)


@dataclass(frozen=True)
class Concurrency:
    expected: int
    lost: int
    duplicated: int
    errors: int


_STARTED = time.monotonic()


def progress(text: str) -> None:
    print(f"[{time.monotonic() - _STARTED:5.1f}s] {text}", file=sys.stderr, flush=True)


def sweep(thread: OurThread | BaselineThread, turns: int, *, first_turn: int = 1,
          quiet: bool = False, traffic: Traffic | None = None) -> Sweep:
    result = Sweep()
    for turn in range(first_turn, first_turn + turns):
        try:
            cost = thread.turn(0, turn)
        except ClientError as error:
            details = error.response.get("Error", {})
            result.failed_at = turn
            result.failure = f"{details.get('Code', '?')}: {details.get('Message', '')}"[:90]
            if not quiet:
                progress(f"  {thread.name}: turn {turn} failed: {result.failure}")
            return result
        result.store_ms.append(cost.store_seconds * 1000)
        result.load_ms.append(cost.load_seconds * 1000)
        if traffic is not None:
            result.traffic.append(traffic.take())
        if turn % 100 == 0 and not quiet:
            progress(f"  {thread.name}: turn {turn}")
    return result


def time_turns(make_thread: Callable[[str], Any], targets: list[int], width: int) -> Timings:
    """Storage and load time around each target turn, measured in interleaved rounds.

    One thread per target is first grown to just before it (untimed); then each round times
    one turn of every thread in turn, so a moment of background load on the machine hits all
    targets alike instead of skewing one of them. `width` rounds: the median of `width` turns
    around each target.
    """
    growing: dict[int, tuple[Any, int]] = {}
    for target in targets:
        first = max(1, target - width // 2)
        thread = make_thread(f"timed-{target}")
        thread.connect()
        if sweep(thread, first - 1, quiet=True).failed_at is None:
            growing[target] = (thread, first)
    samples: dict[int, Sweep] = {target: Sweep() for target in growing}
    for round_ in range(width):
        for target, (thread, first) in growing.items():
            if samples[target].failed_at is None:
                grown = sweep(thread, 1, first_turn=first + round_, quiet=True)
                samples[target].store_ms += grown.store_ms
                samples[target].load_ms += grown.load_ms
                samples[target].failed_at = grown.failed_at
    timings = Timings()
    for target in targets:
        sample = samples.get(target)
        complete = sample is not None and sample.failed_at is None
        timings.store_ms[target] = statistics.median(sample.store_ms) if complete else None
        timings.load_ms[target] = statistics.median(sample.load_ms) if complete else None
    return timings


def concurrent_writers(make_thread: Callable[[str], Any], session_id: str) -> Concurrency:
    """8 writers (each with its own client, like replicas) × 10 turns on one thread."""
    threads = [make_thread(session_id) for _ in range(WRITERS)]
    start = threading.Barrier(WRITERS)
    errors: list[BaseException] = []

    def write(writer: int) -> None:
        start.wait()
        for turn in range(1, WRITER_TURNS + 1):
            try:
                threads[writer].turn(writer, turn)
            except Exception as error:  # noqa: BLE001 - counted and reported in the table
                errors.append(error)

    workers = [threading.Thread(target=write, args=(writer,)) for writer in range(WRITERS)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    found = threads[0].tags()
    expected = {f"w{w} t{t} {kind}" for w in range(WRITERS) for t in range(1, WRITER_TURNS + 1)
                for kind in "qa"}
    return Concurrency(
        expected=len(expected),
        lost=len(expected - set(found)),
        duplicated=len(found) - len(set(found)),
        errors=len(errors),
    )


def warm_up(tables: Tables, turns: int) -> None:
    """DynamoDB Local runs on the JVM: compile its hot paths before anything is timed."""
    progress(f"warming up DynamoDB Local ({turns} turns each)")
    sweep(tables.our_thread("warm-up"), turns)
    sweep(tables.baseline_thread("warm-up"), turns)


# --- the table -----------------------------------------------------------------------------


def ms(value: float | None, failed_at: int | None) -> str:
    if value is not None:
        return f"{value:.1f} ms"
    return f"— (failed at turn {failed_at})" if failed_at else "— (not reached)"


def lost(result: Concurrency) -> str:
    text = f"{result.lost} of {result.expected} ({100 * result.lost / result.expected:.0f} %)"
    if result.duplicated:
        text += f", {result.duplicated} duplicated"
    if result.errors:
        text += f", {result.errors} failed turns"
    return text


def at(result: Sweep, turn: int, show: Callable[[TurnTraffic], str]) -> str:
    if turn > len(result.traffic):
        return f"— (failed at turn {result.failed_at})"
    return show(result.traffic[turn - 1])


def item_bytes(traffic: TurnTraffic) -> str:
    return f"{traffic.item_bytes:,} B"


def written(traffic: TurnTraffic) -> str:
    return f"{traffic.written:,} B ({traffic.write_units:g} WCU)"


def read(traffic: TurnTraffic) -> str:
    return f"{traffic.read:,} B ({traffic.read_units:g} RCU)"


def fails_at(result: Sweep, turns: int) -> str:
    if result.failed_at is None:
        return f"never (all {turns:,} turns)"
    return f"turn {result.failed_at} ({result.failure.split(':')[0]})"


@dataclass(frozen=True)
class Results:
    """Everything measured for one memory."""

    concurrency: Concurrency
    timings: Timings
    long: Sweep


def table(base: Results, ours: Results, *, turns: int, targets: list[int]) -> list[str]:
    rows = [
        ("", "DynamoDBChatMessageHistory (baseline)", "DynamoDBMessageStore (ours)", "goal"),
        ("---", "---", "---", "---"),
        (f"messages lost, {WRITERS} writers × {WRITER_TURNS} turns on one thread",
         lost(base.concurrency), lost(ours.concurrency), "0"),
    ]
    for turn in targets:
        rows.append((f"storage time per turn, turn {turn}",
                     *(ms(r.timings.store_ms[turn], r.long.failed_at) for r in (base, ours)), ""))
    if 1 in targets and 150 in targets:
        rows.append(("storage time ratio, turn 150 ÷ turn 1",
                     *(ratio(r.timings.store_ms[150], r.timings.store_ms[1]) for r in (base, ours)),
                     "≤ 1.2"))
    if turns >= BYTES_TURN:
        rows.append((f"request bytes written per turn at turn {BYTES_TURN} (write capacity units)",
                     *(at(r.long, BYTES_TURN, written) for r in (base, ours)),
                     "≥ 100× less than baseline"))
        rows.append((f"item bytes written per turn at turn {BYTES_TURN} (DynamoDB item size: "
                     "names + values, what write capacity is billed on)",
                     *(at(r.long, BYTES_TURN, item_bytes) for r in (base, ours)),
                     "≥ 100× less than baseline"))
        rows.append((f"bytes read per turn at turn {BYTES_TURN} (read capacity units); ours "
                     f"reads the newest messages within a {TOKEN_BUDGET:,}-token budget",
                     *(at(r.long, BYTES_TURN, read) for r in (base, ours)), "bounded"))
    loads = [" / ".join(ms(r.timings.load_ms[turn], None).removesuffix(" ms")
                        for turn in targets) + " ms" for r in (base, ours)]
    rows.append((f"load time per turn, turns {' / '.join(map(str, targets))}", *loads,
                 "flat once the budget is full"))
    rows.append((f"fails at (run to {turns:,} turns)",
                 *(fails_at(r.long, turns) for r in (base, ours)), "never"))
    return ["| " + " | ".join(row) + " |" for row in rows]


def ratio(later: float | None, first: float | None) -> str:
    return f"{later / first:.2f}" if later is not None and first else "—"


def caption(turns: int, width: int) -> str:
    try:
        local = find_jar().parent.name
    except DynamoDBLocalMissing:
        local = "DynamoDB Local"
    return (
        f"History benchmark, {datetime.date.today().isoformat()}, {platform.machine()}, "
        f"{os.cpu_count()} cores, Python {platform.python_version()}, {local} (in memory); "
        f"{turns:,} turns of a {QUESTION_BYTES} B question and a {ANSWER_BYTES:,} B answer; "
        f"times are medians of {width} turns around each turn, timed in interleaved rounds."
    )


def measure(name: str, make_thread: Callable[[str], Any], *, turns: int,
            targets: list[int], width: int) -> Results:
    progress(f"{name}: {WRITERS} concurrent writers × {WRITER_TURNS} turns on one thread")
    concurrency = concurrent_writers(make_thread, "concurrent")
    progress(f"{name}: timing turns {', '.join(map(str, targets))} ({width} rounds)")
    timings = time_turns(make_thread, targets, width)
    progress(f"{name}: one thread, up to {turns:,} turns")
    thread = make_thread("long")
    long = sweep(thread, turns, traffic=Traffic(client_of(thread)))
    return Results(concurrency, timings, long)


def run(endpoint_url: str, *, turns: int, quick: bool) -> list[str]:
    width = 5 if quick else 11
    targets = [turn for turn in TIMED_TURNS if turn <= turns]
    tables = Tables(endpoint_url)
    try:
        warm_up(tables, 40 if quick else 150)
        options = {"turns": turns, "targets": targets, "width": width}
        base = measure("baseline", tables.baseline_thread, **options)  # type: ignore[arg-type]
        ours = measure("ours", tables.our_thread, **options)  # type: ignore[arg-type]
    finally:
        tables.drop()
    return [caption(turns, width), "", *table(base, ours, turns=turns, targets=targets)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=None, help="turns per thread (1000)")
    parser.add_argument("--quick", action="store_true", help="200 turns, fewer samples")
    parser.add_argument("--endpoint-url", help="use this DynamoDB Local instead of starting one")
    args = parser.parse_args(argv)
    turns = args.turns or (200 if args.quick else 1000)
    server: DynamoDBLocal | None = None
    if args.endpoint_url is None:
        try:
            server = DynamoDBLocal().start()
        except DynamoDBLocalMissing as missing:
            print(f"error: {missing}", file=sys.stderr)
            return 2
    try:
        lines = run(args.endpoint_url or server.endpoint_url, turns=turns, quick=args.quick)
    finally:
        if server is not None:
            server.stop()
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
