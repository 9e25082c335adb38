"""How long a long thread's turns wait for their first word while summaries are made: the
commit before summaries were made after the answer against this checkout, in one run, one table.

    .venv/bin/python bench/summary_wait.py [--turns 120] [--summary-seconds 3] [--baseline bd086df]

Each tree runs the thread of bench/replay_cost.py (300-byte questions, 2 KB answers, the
default 24,000-token budget) through its own conversation, SQLite store and
ChatBedrockConverse, as a process of its own, against one fake Bedrock that answers at once
and takes `--summary-seconds` to write a summary (several seconds is what Sonnet takes for a
6,000-token block). Columns: summary requests made, turns whose first word came more than a
second after the turn began (the turns that waited for a summary), the seconds to the first
word at the median, the 99th percentile and the worst turn, and how long the worst turn held
the thread (its answer and what it did after it; the thread's next message waits that long).
"""

from __future__ import annotations

import argparse
import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.load_trees import checkout, describe_commit  # noqa: E402
from bench.replay_cost import run_tree, table  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402

# The last commit that summarised in the turn that moves the window, before its answer.
BASELINE_COMMIT = "bd086df"
WAITED_SECONDS = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=120)
    parser.add_argument("--summary-seconds", type=float, default=3.0)
    parser.add_argument("--baseline", default=BASELINE_COMMIT)
    args = parser.parse_args()

    rows: list[tuple[str, ...]] = [("tree", "turns", "summary s", "summaries", "turns waited",
                                    "first word p50 s", "p99 s", "worst s", "thread held worst s")]
    with FakeBedrock() as fake:
        for label, tree in (("before", checkout(args.baseline)), ("ours", ROOT)):
            run = run_tree(fake, tree, turns=args.turns, gap=60, ttl="5m",
                           summary_seconds=args.summary_seconds)
            waits = sorted(run.first_word_s)
            rows.append((label, str(args.turns), f"{args.summary_seconds:.1f}",
                         str(len(run.summaries)),
                         str(sum(1 for w in waits if w > WAITED_SECONDS)),
                         f"{statistics.median(waits):.2f}",
                         f"{waits[min(len(waits) - 1, int(len(waits) * 0.99))]:.2f}",
                         f"{waits[-1]:.2f}", f"{max(run.busy_s):.2f}"))
    print(f"before: {describe_commit(args.baseline)}")
    print(table(rows))


if __name__ == "__main__":
    main()
