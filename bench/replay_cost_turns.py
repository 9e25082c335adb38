"""One tree's side of bench/replay_cost.py: a thread of TURNS turns through the tree's own
conversation, SQLite store and ChatBedrockConverse, against the fake Bedrock the parent runs.

Run with the tree first on PYTHONPATH and the settings in the environment; prints one JSON
line with the bot's CPU seconds per turn and each turn's seconds to its first word
and until the thread is free for its next message. Uses only
what both trees have: load_settings, build_dependencies, Conversation.claim/answer.
"""

from __future__ import annotations

import json
import sys
import time

from bot.config import load_settings
from bot.core.records import IncomingMessage, SessionKey
from bot.wiring import build_dependencies

FACT = "By the way, the code name is TAPIR. "


class Sink:
    def __init__(self) -> None:
        self.started = time.monotonic()
        self.first_word = 0.0

    def show_status(self) -> None: ...

    def write(self, text: str) -> None:
        if not self.first_word:
            self.first_word = time.monotonic() - self.started

    def finish(self, *, note: str = "") -> str:
        return ""

    def fail(self, message: str) -> None:
        raise SystemExit(f"a turn failed: {message}")


def question(turn: int) -> str:
    """300 bytes; message 3 of the thread (the second question) holds the fact."""
    text = (FACT if turn == 2 else "") + f"Question {turn}: how do we go on from here? "
    return (text + "x" * 300)[:300]


def main(turns: int) -> None:
    deps = build_dependencies(load_settings())
    session = SessionKey("T1", "C1", "1700000000.000100")
    started = time.process_time()
    first_words, busy = [], []
    for turn in range(1, turns + 1):
        message = IncomingMessage(session, f"{1700000000 + 60 * turn}.000100", "U1",
                                  question(turn), "Ana")
        deps.conversation.claim(message)
        sink = Sink()
        after = deps.conversation.answer(message, sink)
        if callable(after):  # what the turn does once its answer is closed (not in every tree)
            after()
        first_words.append(sink.first_word)
        busy.append(time.monotonic() - sink.started)
    print(json.dumps({"cpu_per_turn": (time.process_time() - started) / turns,
                      "first_word_s": first_words, "busy_s": busy}))


if __name__ == "__main__":
    main(int(sys.argv[1]))
