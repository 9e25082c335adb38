"""One burst of the load benchmark: N people @mention the bot at the same instant, each in a
thread of their own (one that holds a long history, or a new one); what Slack and the user
would see.

Timings come from the two ends a user sees: the signed event POST (its HTTP response is the
ack Slack waits for) and the Web API calls the fake Slack server receives (status, streamed
answer). Both are taken with `time.time()` in this process, so they share one clock.
"""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.load_client import Request, Sender
from tests.fakes._clock import next_ts
from tests.fakes.signing import app_mention, event_callback, signed_headers
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import SIGNING_SECRET

TEAM = "T1"
QUESTION = (
    "Could you look at the numbers from the last quarter again and tell me which of the three "
    "regions grew fastest, and whether the growth came from new customers or existing ones?"
)
ANSWER = (
    "Here is what the figures show.\n\n**Fastest growth:** the North region, up 18% on the "
    "quarter before, ahead of the West (11%) and the South (6%).\n\n**Where it came from:**\n"
    "- About two thirds of the North's growth came from existing customers buying more, mostly "
    "the larger plans.\n- The rest came from new customers, most of them from the partner "
    "programme that started in the spring.\n\nThe West grew mainly through new customers, "
    "while the South's growth was almost all renewals at higher prices. If you want, I can "
    "break the North's figures down by product line or by month, or compare them with the "
    "same quarter last year to separate the seasonal effect from the real trend. "
)
_TURN_LINE = re.compile(r"turn (\S+) took ([\d.]+) ms, ([\d.]+) ms of it the bot's own CPU")


@dataclass(frozen=True)
class LoadThread:
    """One Slack thread of the benchmark: its own channel, its own user, a fixed root ts.

    With `top_level_ts` the thread is new: its @mention is a top-level message with that ts,
    under which the bot starts the thread."""

    index: int
    top_level_ts: str = ""

    @property
    def channel(self) -> str:
        return f"C0LOAD{self.index:04d}"

    @property
    def user(self) -> str:
        return f"U0LOAD{self.index:04d}"

    @property
    def root_ts(self) -> str:
        return self.top_level_ts or f"1700000000.{self.index:06d}"

    @property
    def session_id(self) -> str:
        return f"{TEAM}:{self.channel}:{self.root_ts}"


@dataclass
class BurstResult:
    """What one burst of N events produced, as seen from outside the bot."""

    events: int
    answers: int
    makespan: float
    ack_ms: list[float]
    ack_statuses: Counter[int]
    status_ms: list[float]
    slack_calls: Counter[str]
    max_appends_per_second: int
    sessions: list[str] = field(default_factory=list)


def mention_payload(thread: LoadThread) -> dict[str, Any]:
    """The event_callback body of one @mention in `thread`, as HTTP and Socket Mode carry it."""
    # Slack puts the author's profile on every message a person posts.
    profile = {"display_name": "", "real_name": f"User {thread.user}", "name": thread.user.lower()}
    if thread.top_level_ts:
        ts, thread_ts = thread.top_level_ts, None
    else:
        ts, thread_ts = next_ts(), thread.root_ts
    event = app_mention(channel=thread.channel, user=thread.user, text=f"<@U_BOT> {QUESTION}",
                        ts=ts, thread_ts=thread_ts, team=TEAM, user_profile=profile)
    return event_callback(event, team_id=TEAM)


def _signed_event(thread: LoadThread) -> Request:
    body = json.dumps(mention_payload(thread)).encode()
    return thread.channel, body, signed_headers(body, SIGNING_SECRET)


def fire_burst(
    sender: Sender, port: int, slack: FakeSlack, threads: Sequence[LoadThread], *,
    keep_alive: bool, timeout: float = 300,
) -> BurstResult:
    """Post one @mention per thread at the same instant; wait until every answer is closed."""
    slack.reset()
    requests = [_signed_event(thread) for thread in threads]  # signed before the clock starts
    outcomes = sender.send(port, requests, keep_alive=keep_alive)
    wait_for_answers(slack, threads, timeout)
    sent_at = {channel: sent for channel, sent, _, _ in outcomes}
    acks = [(status, ms) for _, _, status, ms in outcomes]
    return measure_burst(slack, threads, sent_at, acks)


def wait_for_answers(slack: FakeSlack, threads: Sequence[LoadThread], timeout: float) -> None:
    """Until every thread's answer is closed, or `timeout` (then fewer answers are reported)."""
    channels = {thread.channel for thread in threads}

    def all_answered(fake: FakeSlack) -> bool:
        closed = {c.params.get("channel") for c in fake.calls_to("chat.stopStream")}
        return channels <= closed

    with contextlib.suppress(AssertionError):
        slack.wait_for(all_answered, timeout=timeout)


def measure_burst(
    slack: FakeSlack, threads: Sequence[LoadThread], sent_at: dict[str, float],
    acks: list[tuple[int, float]],
) -> BurstResult:
    """What the burst produced: `sent_at` maps each thread's channel to when its event left,
    `acks` holds one (status, milliseconds to the ack) per event."""
    calls = slack.calls
    first_status: dict[str, float] = {}
    stopped: dict[str, float] = {}
    appends: dict[tuple[str, str], list[float]] = defaultdict(list)
    for call in calls:
        if call.method == "assistant.threads.setStatus" and call.params.get("status"):
            first_status.setdefault(call.params["channel_id"], call.time)
        elif call.method == "chat.stopStream":
            stopped.setdefault(call.params["channel"], call.time)
        elif call.method == "chat.appendStream":
            appends[(call.params["channel"], call.params["ts"])].append(call.time)
    answered = [t.channel for t in threads if t.channel in stopped]
    makespan = (max(stopped[c] for c in answered) - min(sent_at.values())) if answered else 0.0
    return BurstResult(
        events=len(threads),
        answers=len(answered),
        makespan=makespan,
        ack_ms=[ms for _, ms in acks],
        ack_statuses=Counter(status for status, _ in acks),
        status_ms=[(first_status[c] - sent_at[c]) * 1000 for c in sent_at if c in first_status],
        slack_calls=Counter(call.method for call in calls),
        max_appends_per_second=max((_busiest_second(times) for times in appends.values()), default=0),
        sessions=[t.session_id for t in threads],
    )


def _busiest_second(times: list[float]) -> int:
    """The most calls that fall within any one-second window."""
    times, best, first = sorted(times), 0, 0
    for last, moment in enumerate(times):
        while moment - times[first] >= 1.0:
            first += 1
        best = max(best, last - first + 1)
    return best


def turn_cpu_ms(log_path: Path, sessions: Sequence[str]) -> list[float]:
    """The bot's own CPU per turn, from the one line it logs per answered turn."""
    wanted, found = set(sessions), []
    for line in log_path.read_text(errors="replace").splitlines():
        match = _TURN_LINE.search(line)
        if match and match.group(1) in wanted:
            found.append(float(match.group(3)))
    return found


def wait_for_turn_lines(log_path: Path, sessions: Sequence[str], *, timeout: float = 5) -> None:
    """Until the bot has logged the end of every session's turn, or `timeout`.

    A turn still stores its answer after the stream is closed; that work is part of its cost."""
    deadline = time.monotonic() + timeout
    while len(turn_cpu_ms(log_path, sessions)) < len(sessions) and time.monotonic() < deadline:
        time.sleep(0.05)
