"""A terminal conversation that works exactly like a Slack thread (`python -m bot console`).

Same conversation core, prompt building and store as Slack: a console thread is the session
`console:local:<thread ts>`, where the thread ts is its first message's ts, as in Slack. So the
store's own session list is the thread list, and a second run continues where the first stopped.

Answers and the output of `/threads` and `/history` go to `out` (stdout); start-up and
confirmation lines go to `info` (stderr), so a script piping one message per line reads
nothing but answers on stdout.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TextIO

from bot import messages as say
from bot.core.conversation import Conversation
from bot.core.ports import StoreUnavailable
from bot.core.records import IncomingMessage, SessionKey, StoredMessage, TsClock

CONSOLE_TEAM = "console"
CONSOLE_CHANNEL = "local"
SESSION_PREFIX = f"{CONSOLE_TEAM}:{CONSOLE_CHANNEL}:"
CONSOLE_USER = "console-user"
THREAD_LIST_LIMIT = 20

HELP = (
    "Commands: /new starts a thread, /threads lists threads, /open ID switches to one, "
    "/history prints this thread, /quit exits."
)
_SPEAKERS = {"human": "you", "ai": "bot"}


class ConsoleSink:
    """A ReplySink that streams the answer to the terminal as the model produces it."""

    def __init__(self, out: TextIO) -> None:
        self._out = out
        self._at_line_start = True

    def show_status(self) -> None:
        """Nothing to show: the first words appear as soon as the model sends them."""

    def write(self, text: str) -> None:
        self._emit(text)

    def finish(self, *, note: str = "") -> str:
        self._end_line()
        if note:
            self._emit(note.strip("_") + "\n")
        return ""  # the stored answer has no Slack ts to point to

    def fail(self, message: str) -> None:
        self._end_line()
        self._emit(message + "\n")

    def _end_line(self) -> None:
        if not self._at_line_start:
            self._emit("\n")

    def _emit(self, text: str) -> None:
        if text:
            self._out.write(text)
            self._out.flush()
            self._at_line_start = text.endswith("\n")


def session_for(thread_ts: str) -> SessionKey:
    return SessionKey(CONSOLE_TEAM, CONSOLE_CHANNEL, thread_ts)


class Console:
    """Reads lines (messages or commands) and answers each message in the current thread."""

    def __init__(
        self,
        *,
        conversation: Conversation,
        out: TextIO,
        info: TextIO,
        clock: TsClock | None = None,
    ) -> None:
        self._conversation = conversation
        self._store = conversation.store
        self._out = out
        self._info = info
        self._clock = clock or TsClock()
        # None: a new thread, which starts (and gets its ts) with the next message.
        self.thread_ts: str | None = None
        self._listed: list[str] = []

    def start(self, *, new_thread: bool = False) -> None:
        """Continue the most recent console thread, unless asked for a new one."""
        latest = [] if new_thread else self._store.sessions(prefix=SESSION_PREFIX, limit=1)
        if latest:
            self.thread_ts = SessionKey.parse(latest[0]).thread_ts
            count = len(self._store.all(latest[0]))
            self._say(f"Continuing thread {self.thread_ts} ({count} messages); "
                      "/new starts another, /help lists commands.")
        else:
            self.thread_ts = None
            self._say("New thread; /help lists commands.")

    def run(self, lines: Iterable[str]) -> int:
        for line in lines:
            if not self.handle(line):
                break
        return 0

    def handle(self, line: str) -> bool:
        """Act on one line; False when the console should stop."""
        text = line.strip()
        if not text:
            return True
        if not text.startswith("/"):
            self.ask(text)
            return True
        command, _, argument = text.partition(" ")
        if command in ("/quit", "/exit"):
            return False
        actions: dict[str, Callable[[str], None]] = {
            "/new": self._new,
            "/threads": self._threads,
            "/open": self._open,
            "/history": self._history,
            "/help": self._help,
        }
        actions.get(command, self._unknown)(argument.strip())
        return True

    def ask(self, text: str) -> None:
        ts = self._clock.next()
        thread_ts = self.thread_ts or ts
        self.thread_ts = thread_ts
        message = IncomingMessage(
            session=session_for(thread_ts), ts=ts, user_id=CONSOLE_USER, text=text
        )
        sink = ConsoleSink(self._out)
        try:
            self._conversation.claim(message)
        except StoreUnavailable as error:
            sink.fail(say.STORE_DOWN)
            self._info.write(f"store error: {error}\n")
            return
        after = self._conversation.answer(message, sink)
        after()  # a summary for the next turn, if one is due: before the next prompt

    def _new(self, _: str) -> None:
        self.thread_ts = None
        self._say("New thread: your next message starts it.")

    def _threads(self, _: str) -> None:
        self._listed = self._store.sessions(prefix=SESSION_PREFIX, limit=THREAD_LIST_LIMIT)
        if not self._listed:
            self._say("No threads yet: write a message to start one.")
            return
        for number, session_id in enumerate(self._listed, start=1):
            messages = self._store.all(session_id)
            thread_ts = SessionKey.parse(session_id).thread_ts
            mark = "*" if thread_ts == self.thread_ts else " "
            first = next((m.text for m in messages if m.role == "human"), "")
            self._print(f"{mark} {number:>2}  {thread_ts}  {len(messages):>3} messages  "
                        f"{_one_line(first)}")

    def _open(self, argument: str) -> None:
        session_id = self._find_session(argument)
        if session_id is None:
            self._say(f"No thread {argument!r}: /threads lists them (open by number or ID).")
            return
        self.thread_ts = SessionKey.parse(session_id).thread_ts
        count = len(self._store.all(session_id))
        self._say(f"Opened thread {self.thread_ts} ({count} messages).")

    def _find_session(self, argument: str) -> str | None:
        if not argument:
            return None
        if argument.isdigit() and len(argument) <= 3:
            listed = self._listed or self._store.sessions(
                prefix=SESSION_PREFIX, limit=THREAD_LIST_LIMIT
            )
            index = int(argument) - 1
            return listed[index] if 0 <= index < len(listed) else None
        session_id = argument if argument.startswith(SESSION_PREFIX) else SESSION_PREFIX + argument
        return session_id if self._store.has_session(session_id) else None

    def _history(self, _: str) -> None:
        messages = self._store.all(session_for(self.thread_ts).id) if self.thread_ts else []
        if not messages:
            self._say("This thread has no messages yet.")
            return
        for message in messages:
            self._print(_turn_line(message))

    def _help(self, _: str) -> None:
        self._say(HELP)

    def _unknown(self, _: str) -> None:
        self._say(f"Unknown command. {HELP}")

    def _print(self, line: str) -> None:
        self._out.write(line + "\n")
        self._out.flush()

    def _say(self, line: str) -> None:
        self._info.write(line + "\n")
        self._info.flush()


def _turn_line(message: StoredMessage) -> str:
    return f"{_SPEAKERS[message.role]}: {message.text}"


def _one_line(text: str, width: int = 60) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= width else flat[: width - 1] + "…"
