"""What replaying a long thread costs: today's replay against ours, in one run, one table.

    .venv/bin/python bench/replay_cost.py [--turns 200] [--baseline d1f3a2c^]

today: the code of `--baseline` (default: the commit before cache points and the block
window: no cache points, a window that slides one message a turn, old messages dropped).
ours: this checkout (cache points, the block window, summaries of what leaves it).

Each runs a thread of 200 turns (300-byte questions, 2 KB answers; message 3 says "the code
name is TAPIR") through its own conversation, SQLite store and ChatBedrockConverse, as a
process of its own, against one fake Bedrock that accounts for caching as Bedrock does for
Claude: the prefix up to each cache point, the 1,024-token minimum, a 5-minute TTL renewed
on each hit (or 1 h), reads at 0.1 and writes at 1.25 (1 h: 2) of the input price.
The fake's clock moves by the shape's gap before each answer, so a gap longer than the TTL
finds the cache cold. Prices: Claude Sonnet 4.6 on Bedrock, $3 in and $15 out per million.

Columns, for the answer of that turn: tokens sent (all input), read from the cache, written to
it, cost-weighted input (input + 0.1 read + 1.25 or 2 written), that as a share of today's,
summary requests so far, whether TAPIR is in the prompt. Then per shape the 200 turns' total
cost and the share of it spent on summaries; last, the bot's CPU per turn (its own process,
the fake excluded), the median of --cpu-runs alternating runs of each tree.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_trees import checkout, describe_commit  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402

BASELINE_COMMIT = "d1f3a2c^"
RUNNER = Path(__file__).with_name("replay_cost_turns.py")
ROWS = (10, 50, 100, 200)
SHAPES = (("1 min apart", 60, "5m"), ("10 min apart", 600, "5m"), ("10 min apart", 600, "1h"))
PRICE_IN, PRICE_OUT = 3.0, 15.0
SUMMARY_SYSTEM = "You keep the running summary"
CACHE_AND_SUMMARIES_OFF = {"PROMPT_CACHE": "false", "SUMMARIES": "false"}
ANSWER = "Here is what I think. " + "The plan holds and we go on. " * 70


@dataclass
class Run:
    """What the fake saw from one tree's thread."""

    ttl: str
    answers: list[dict[str, Any]] = field(default_factory=list)  # usage + fact, per turn
    summaries: list[dict[str, int]] = field(default_factory=list)
    summaries_before: list[int] = field(default_factory=list)  # per turn, so far
    cpu_per_turn: float = 0.0
    first_word_s: list[float] = field(default_factory=list)  # per turn: answer() to first word
    busy_s: list[float] = field(default_factory=list)  # per turn: until the thread is free

    def weighted(self, usage: dict[str, int]) -> float:
        write = 2.0 if self.ttl == "1h" else 1.25
        return (usage["inputTokens"] + 0.1 * usage.get("cacheReadInputTokens", 0)
                + write * usage.get("cacheWriteInputTokens", 0))

    def cost(self, usages: list[dict[str, int]]) -> float:
        return sum(self.weighted(u) * PRICE_IN + u["outputTokens"] * PRICE_OUT
                   for u in usages) / 1e6


def run_tree(fake: FakeBedrock, tree: Path, *, turns: int, gap: int, ttl: str,
             summary_seconds: float = 0.0, settings: dict[str, str] | None = None) -> Run:
    """`summary_seconds`: how long the fake takes to write a summary; `settings`: more
    environment for the bot."""
    fake.reset()
    clock = {"now": 0.0}
    fake.clock = lambda: clock["now"]

    def reply(body: dict[str, Any]) -> str:
        if body.get("system", [{}])[0].get("text", "").startswith(SUMMARY_SYSTEM):
            time.sleep(summary_seconds)
            sent = json.dumps(body["messages"])
            # A summary that keeps the fact when it was given one, at about 300 words.
            return ("The thread so far: " + ("the code name is TAPIR. " if "TAPIR" in sent else "")
                    + "They discussed how to go on; the plan holds. " * 40)
        clock["now"] += gap
        return ANSWER

    fake.reply = reply
    with tempfile.TemporaryDirectory() as folder:
        env = {
            "PATH": os.environ.get("PATH", ""), "HOME": folder, "PYTHONPATH": str(tree),
            "MODEL_PROVIDER": "bedrock", "BEDROCK_ENDPOINT_URL": fake.url,
            "AWS_ACCESS_KEY_ID": "x", "AWS_SECRET_ACCESS_KEY": "x", "AWS_REGION": "us-east-1",
            "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
            "SQLITE_PATH": str(Path(folder) / "history.sqlite3"), "PROMPT_CACHE_TTL": ttl,
            "MODEL_MAX_ATTEMPTS": "1", "LOG_LEVEL": "WARNING", **(settings or {}),
        }
        done = subprocess.run([sys.executable, str(RUNNER), str(turns)], cwd=folder, env=env,
                              capture_output=True, text=True, timeout=1800, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{tree}: the thread failed:\n{done.stderr[-2000:]}")
    printed = json.loads(done.stdout.splitlines()[-1])
    result = Run(ttl=ttl, cpu_per_turn=printed["cpu_per_turn"],
                 first_word_s=printed["first_word_s"], busy_s=printed["busy_s"])
    for request, usage in zip(fake.requests, fake.usages, strict=True):
        if request.system_text.startswith(SUMMARY_SYSTEM):
            result.summaries.append(usage)
        else:
            result.answers.append({**usage, "fact": "TAPIR" in fake.all_text_sent(request)})
            result.summaries_before.append(len(result.summaries))
    if len(result.answers) != turns:
        raise SystemExit(f"{tree}: {len(result.answers)} answers for {turns} turns")
    return result


def table(rows: list[tuple[str, ...]]) -> str:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = [" | ".join(cell.rjust(w) if i > 2 else cell.ljust(w)
                        for i, (cell, w) in enumerate(zip(row, widths, strict=True)))
             for row in rows]
    lines.insert(1, "-+-".join("-" * w for w in widths))
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    parser.add_argument("--baseline", default=BASELINE_COMMIT)
    parser.add_argument("--cpu-runs", type=int, default=5,
                        help="alternating runs of each tree for the CPU figure")
    args = parser.parse_args()
    rows_at = [t for t in ROWS if t <= args.turns] or [args.turns]

    header = ("shape", "turn", "replay", "sent", "cache read", "cache write", "weighted",
              "vs today", "summaries", "TAPIR")
    rows: list[tuple[str, ...]] = [header]
    with FakeBedrock() as fake:
        baseline = checkout(args.baseline)
        today = run_tree(fake, baseline, turns=args.turns, gap=60, ttl="5m")
        for name, gap, ttl in SHAPES:
            shape = f"{name}, {ttl} TTL"
            ours = run_tree(fake, ROOT, turns=args.turns, gap=gap, ttl=ttl)
            for turn in rows_at:
                for label, run in (("today", today), ("ours", ours)):
                    usage = run.answers[turn - 1]
                    sent = (usage["inputTokens"] + usage.get("cacheReadInputTokens", 0)
                            + usage.get("cacheWriteInputTokens", 0))
                    share = run.weighted(usage) / today.weighted(today.answers[turn - 1])
                    rows.append((shape, str(turn), label, f"{sent:,}",
                                 f"{usage.get('cacheReadInputTokens', 0):,}",
                                 f"{usage.get('cacheWriteInputTokens', 0):,}",
                                 f"{run.weighted(usage):,.0f}", f"{share:.0%}",
                                 str(run.summaries_before[turn - 1]),
                                 "yes" if usage["fact"] else "no"))
            for label, run in (("today", today), ("ours", ours)):
                total = run.cost(run.answers) + run.cost(run.summaries)
                rows.append((shape, f"all {args.turns}", label,
                             f"${total:.2f} in all", f"summaries ${run.cost(run.summaries):.2f}",
                             f"= {run.cost(run.summaries) / total:.1%}",
                             f"{total / (today.cost(today.answers)):.0%} of today's cost", "",
                             str(len(run.summaries)), ""))
        # CPU per turn varies by 10-20 % from run to run here: trees alternate, medians shown.
        # "ours, off" is this checkout without cache points and summaries: what they cost,
        # apart from what else changed since today's commit.
        cpu: dict[str, list[float]] = {"today": [], "ours, off": [], "ours": []}
        trees = (("today", baseline, {}), ("ours, off", ROOT, CACHE_AND_SUMMARIES_OFF),
                 ("ours", ROOT, {}))
        for _ in range(args.cpu_runs):
            for label, tree, settings in trees:
                cpu[label].append(run_tree(fake, tree, turns=args.turns, gap=60, ttl="5m",
                                           settings=settings).cpu_per_turn * 1000)
        for label, runs in cpu.items():
            rows.append((f"{SHAPES[0][0]}, 5m TTL", f"all {args.turns}", label,
                         f"CPU {statistics.median(runs):.1f} ms/turn",
                         f"median of {len(runs)}", f"min {min(runs):.1f}", "", "", "", ""))
    print(f"today: {describe_commit(args.baseline)}")
    print(table(rows))


if __name__ == "__main__":
    main()
