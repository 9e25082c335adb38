"""Stream floor: the CPU langchain-aws and botocore spend reading one streamed answer.

    .venv/bin/python bench/stream_floor.py            # about a minute
    .venv/bin/python bench/stream_floor.py --rounds 30 --answer-tokens 200

No bot: the chat model exactly as the bot builds it (bot.model.factory, ChatBedrockConverse),
streaming a 60-token answer (one event a token, as bench/load.py's fake Bedrock sends them)
to a 50-turn prompt, on one thread that does nothing else with the pieces. It measures that
thread's CPU (time.thread_time) per answer, three ways over the same events:

- as they come: 50 tokens a second, each read when it arrives (what every bot does);
- all at once: the same events sent in one go, so the parsing is the same but there is
  one wake-up instead of one a token;
- in batches: as they come, but the reader sleeps 0.2 s after catching up, so the next
  pieces gather (the end of the answer then comes up to 0.2 s later).

"as they come" is the floor under a streamed answer's CPU for any code that shows tokens as
the model writes them; bench/load.py's CPU per answer is this plus everything else a turn
does. Prints one table.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from langchain_core.language_models import BaseChatModel  # noqa: E402
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage  # noqa: E402

from bench.load import CHARS_PER_TOKEN  # noqa: E402
from bench.load_burst import ANSWER, QUESTION  # noqa: E402
from bench.load_report import describe_machine  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402

BATCH_SECONDS = 0.2
WAITED_SECONDS = 0.001  # a read that took longer waited for the network


def build_model(bedrock_url: str) -> BaseChatModel:
    os.environ.update(AWS_ACCESS_KEY_ID="fake", AWS_SECRET_ACCESS_KEY="fake",
                      AWS_DEFAULT_REGION="us-east-1", MODEL_PROVIDER="bedrock",
                      BEDROCK_ENDPOINT_URL=bedrock_url)
    from bot.config import load_settings
    from bot.model.factory import build_chat_model

    return build_chat_model(load_settings())


def prompt_of(turns: int) -> list[BaseMessage]:
    messages: list[BaseMessage] = [SystemMessage("You are a helpful assistant in Slack.")]
    for turn in range(turns):
        messages += [HumanMessage(f"User U1: {QUESTION} ({turn})"), AIMessage(ANSWER)]
    return [*messages, HumanMessage(f"User U1: {QUESTION}")]


def read_each(model: BaseChatModel, prompt: list[BaseMessage]) -> int:
    return sum(1 for _ in model.stream(prompt))


def read_in_batches(model: BaseChatModel, prompt: list[BaseMessage]) -> int:
    pieces = 0
    stream = iter(model.stream(prompt))
    while True:
        before = time.monotonic()
        try:
            next(stream)
        except StopIteration:
            return pieces
        pieces += 1
        if pieces > 1 and time.monotonic() - before > WAITED_SECONDS:
            time.sleep(BATCH_SECONDS)  # caught up: let the next pieces gather


def measure(read: Callable[[BaseChatModel, list[BaseMessage]], int], model: BaseChatModel,
            prompt: list[BaseMessage], rounds: int) -> tuple[float, float, int]:
    """Median CPU ms and wall seconds per answer, and the pieces of the last one."""
    read(model, prompt)  # connection and caches warm
    cpu, wall, pieces = [], [], 0
    for _ in range(rounds):
        started_cpu, started = time.thread_time(), time.monotonic()
        pieces = read(model, prompt)
        cpu.append((time.thread_time() - started_cpu) * 1000)
        wall.append(time.monotonic() - started)
    return statistics.median(cpu), statistics.median(wall), pieces


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--answer-tokens", type=int, default=60)
    parser.add_argument("--tokens-per-second", type=float, default=50.0)
    parser.add_argument("--history-turns", type=int, default=50)
    args = parser.parse_args()

    reply = (ANSWER * (1 + args.answer_tokens * CHARS_PER_TOKEN // len(ANSWER)))
    reply = reply[: args.answer_tokens * CHARS_PER_TOKEN]
    prompt = prompt_of(args.history_turns)
    print(f"# bench/stream_floor.py, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, {describe_machine()}")
    print(f"# {args.answer_tokens} tokens, {args.history_turns}-turn prompt, "
          f"median of {args.rounds} answers")
    print()
    print("| read | tokens/s | pieces | CPU ms/answer | wall s/answer |")
    print("|---|---|---|---|---|")
    ways = [("as they come", args.tokens_per_second, read_each),
            ("all at once", None, read_each),
            (f"in {BATCH_SECONDS:g} s batches", args.tokens_per_second, read_in_batches)]
    for name, rate, read in ways:
        with FakeBedrock(reply=reply, chunk_chars=CHARS_PER_TOKEN, tokens_per_second=rate) as fake:
            cpu, wall, pieces = measure(read, build_model(fake.url), prompt, args.rounds)
        speed = f"{rate:g}" if rate else "at once"
        print(f"| {name} | {speed} | {pieces} | {cpu:.1f} | {wall:.2f} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
