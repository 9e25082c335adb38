"""`python -m bot usage [--since 7d] [--by channel|user|thread|model|day]`: tokens and cost per day's
counters (one Query per day on DynamoDB), as recorded with each answer and summary."""

from __future__ import annotations

import argparse
import re
import time
from collections import defaultdict
from typing import Any

from bot.config import Settings
from bot.core.records import Usage, UsageRecord
from bot.core.usage import utc_day
from bot.pricing import price_of
from bot.wiring import build_store

GROUPS = ("channel", "user", "thread", "model", "day")


def add_parser(commands: Any) -> None:
    usage = commands.add_parser("usage", help="print tokens and cost by channel, user or thread")
    usage.add_argument("--since", default="7d",
                       help="how far back: Nd (UTC days, today included) or YYYY-MM-DD")
    usage.add_argument("--by", choices=GROUPS, default="channel", help="what each row is")


def run(args: argparse.Namespace, settings: Settings) -> int:
    days = days_since(args.since, now=time.time())
    if not days:
        print(f"--since {args.since!r} is not Nd or a past YYYY-MM-DD", flush=True)
        return 2
    rows = build_store(settings).usage(days)
    print(usage_table(rows, by=args.by, settings=settings, days=days))
    return 0


def days_since(since: str, *, now: float) -> list[str] | None:
    if match := re.fullmatch(r"(\d+)d", since):
        count = max(1, int(match[1]))
        return [utc_day(now - back * 86400) for back in range(count - 1, -1, -1)]
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", since):
        days: list[str] = []
        at = now
        while (day := utc_day(at)) >= since and len(days) < 3660:
            days.insert(0, day)
            at -= 86400
        return days
    return None


def group_of(record: UsageRecord, by: str) -> str:
    parts = record.session_id.split(":")
    if by == "channel":
        return parts[1] if len(parts) == 3 else record.session_id
    if by == "user":
        return record.user_id or "-"
    if by == "model":
        return record.usage.model_id or "-"
    if by == "day":
        return record.day
    return record.session_id


def usage_table(rows: list[UsageRecord], *, by: str, settings: Settings, days: list[str]) -> str:
    totals: dict[str, Usage] = defaultdict(Usage)
    counts: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    costs: dict[str, float | None] = defaultdict(float)
    unpriced: set[str] = set()
    for record in rows:
        group = group_of(record, by)
        totals[group] += record.usage
        counts[group][0] += record.answers
        counts[group][1] += record.summaries
        price = price_of(record.usage.model_id, overrides=settings.model_prices,
                         cache_ttl=settings.prompt_cache_ttl)
        if price is None:
            unpriced.add(record.usage.model_id or "-")
            costs[group] = None
        elif costs[group] is not None:
            costs[group] = (costs[group] or 0.0) + price.cost(record.usage)
    header = (by, "answers", "summaries", "input", "cache read", "cache write", "output",
              "cost USD")
    order = sorted(totals, key=lambda g: (-(costs[g] or 0.0), g))
    lines = [_row(g, counts[g], totals[g], costs[g]) for g in order]
    grand = sum(totals.values(), Usage())
    answers = [sum(c[0] for c in counts.values()), sum(c[1] for c in counts.values())]
    known = None if any(costs[g] is None for g in totals) else sum(c or 0.0 for c in costs.values())
    lines.append(_row("total", answers, grand, known))
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
    table = [" | ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                        for i, (c, w) in enumerate(zip(row, widths, strict=True)))
             for row in (header, *lines)]
    table.insert(1, "-+-".join("-" * w for w in widths))
    head = f"usage {days[0]} to {days[-1]} (UTC), by {by}"
    notes = [f"no price for {model}: set MODEL_PRICES" for model in sorted(unpriced)]
    return "\n".join([head, *table, *notes])


def _row(group: str, counts: list[int], usage: Usage, cost: float | None) -> tuple[str, ...]:
    return (group, str(counts[0]), str(counts[1]), f"{usage.input_tokens:,}",
            f"{usage.cache_read_tokens:,}", f"{usage.cache_write_tokens:,}",
            f"{usage.output_tokens:,}", "?" if cost is None else f"{cost:.4f}")
