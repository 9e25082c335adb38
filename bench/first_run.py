"""A fresh machine's first `bash scripts/run`: from a new clone with an empty pip cache to the
console's first answer, for a baseline commit and this checkout's HEAD, side by side.

    .venv/bin/python bench/first_run.py                     # about 10 minutes on 2 cores
    .venv/bin/python bench/first_run.py --rounds 2 --baseline-commit HEAD~3

Each run clones this repository at the commit into a new temp dir, gives it a new empty
PIP_CACHE_DIR and no Slack, AWS or provider settings, pipes "Say hi" into `bash scripts/run`
(which creates .venv, builds llama.cpp, installs the project and answers offline), and times
the first line on stdout, the answer. "Longest silence" is the longest time with no line on
either stream: how long someone watching the first run sees nothing happen. Rounds alternate
which tree goes first, so a slow moment of the machine falls on both. Packages come from the
package index each time (only the pip cache is new), so the network's speed is in the figures.
"""

from __future__ import annotations

import argparse
import os
import platform
import queue
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
# The last commit before the build was cut down to the libraries the bindings load.
BASELINE_COMMIT = "bca6fd5"
TIMEOUT_SECONDS = 1800
_CLEARED = ("SLACK_", "AWS_", "MODEL_", "CMAKE_", "PIP_CACHE_DIR", "VIRTUAL_ENV", "DYNAMODB_")


@dataclass
class Run:
    tree: str
    seconds: float
    silence: float


def _env(cache: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CLEARED)}
    env["PIP_CACHE_DIR"] = cache
    return env


def _pump(name: str, stream: IO[str], lines: queue.Queue[tuple[float, str, str]]) -> None:
    for line in stream:
        lines.put((time.monotonic(), name, line))


def _first_run(commit: str, label: str) -> Run:
    work = Path(tempfile.mkdtemp(prefix="first-run-"))
    try:
        tree = work / "clone"
        subprocess.run(["git", "clone", "-q", str(ROOT), str(tree)], check=True)
        subprocess.run(["git", "-C", str(tree), "checkout", "-q", commit], check=True)
        cache = work / "pip-cache"
        cache.mkdir()
        lines: queue.Queue[tuple[float, str, str]] = queue.Queue()
        started = time.monotonic()
        proc = subprocess.Popen(["bash", "scripts/run"], cwd=tree, env=_env(str(cache)),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)
        assert proc.stdin and proc.stdout and proc.stderr
        proc.stdin.write("Say hi\n")
        proc.stdin.close()
        for name, stream in (("out", proc.stdout), ("err", proc.stderr)):
            threading.Thread(target=_pump, args=(name, stream, lines), daemon=True).start()
        last, silence, answer_at = started, 0.0, 0.0
        while proc.poll() is None or not lines.empty():
            try:
                at, name, line = lines.get(timeout=1)
            except queue.Empty:
                if time.monotonic() - started > TIMEOUT_SECONDS:
                    proc.kill()
                    raise SystemExit(f"{label}: no answer within {TIMEOUT_SECONDS} s") from None
                continue
            silence, last = max(silence, at - last), at
            if name == "out" and not answer_at and line.strip():
                answer_at = at
        if proc.wait() != 0 or not answer_at:
            raise SystemExit(f"{label}: scripts/run exited {proc.returncode} without an answer")
        return Run(label, answer_at - started, silence)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--baseline-commit", default=BASELINE_COMMIT)
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    head = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
                          check=True, capture_output=True, text=True).stdout.strip()
    trees = [(f"baseline {args.baseline_commit}", args.baseline_commit), (f"now {head}", head)]
    runs: list[Run] = []
    for round_ in range(args.rounds):
        for label, commit in trees if round_ % 2 == 0 else trees[::-1]:
            print(f"round {round_ + 1}: {label} ...", file=sys.stderr, flush=True)
            runs.append(_first_run(commit, label))
    print(f"{time.strftime('%Y-%m-%d')}, {os.cpu_count()} CPUs, Python {platform.python_version()},"
          f" {args.rounds} round(s)\n")
    print("| tree | first answer s (median) | range s | longest silence s | vs baseline |")
    print("|---|---|---|---|---|")
    base = statistics.median(r.seconds for r in runs if r.tree == trees[0][0])
    for label, _ in trees:
        mine = [r for r in runs if r.tree == label]
        median = statistics.median(r.seconds for r in mine)
        print(f"| {label} | {median:.0f} | {min(r.seconds for r in mine):.0f}-"
              f"{max(r.seconds for r in mine):.0f} | {max(r.silence for r in mine):.0f} | "
              f"{median / base:.2f} |")


if __name__ == "__main__":
    main()
