"""One turn of a conversation: session → history → prompt → model stream → stored records.

Knows nothing of Slack or AWS: it talks to a MessageStore, a LangChain chat model and a
ReplySink, so the same turn runs in a Slack thread, a Lambda invocation or the console.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage

from bot import messages as say
from bot.core.ports import MessageStore, ReplySink, StoreUnavailable
from bot.core.prompt import Prompt, build_prompt
from bot.core.records import IncomingMessage, StoredMessage, sort_key
from bot.core.serial import SessionQueue

log = logging.getLogger(__name__)

# Turns that may prepare a prompt at once (store writes, history read, prompt building). That
# work is mostly CPU under Python's interpreter lock: a hundred threads doing it together spend
# a fifth of their CPU handing the lock to each other, so every prompt is ready later than if
# they took turns. Measured on a 100-event burst (bench/load.py): 4 to 8 slots are equally
# good, 16 and unbounded are not. Waiting on the model is outside the slots. The slots only
# order the work: a turn that waited PREPARE_WAIT_SECONDS goes ahead anyway, so a slow store
# (whose calls can take seconds to time out) or a first turn reading a long thread from Slack
# never holds up every other thread's answer.
PREPARE_SLOTS = 6
PREPARE_WAIT_SECONDS = 2.0


class ModelFailurePolicy(Protocol):
    """How model errors are worded for users and whether a fresh attempt may help."""

    def message_for(self, error: BaseException) -> str: ...

    def should_retry(self, error: BaseException, *, stream_started: bool) -> bool: ...


class Outcome(Enum):
    ANSWERED = "answered"
    MODEL_FAILED = "model_failed"
    STORE_FAILED = "store_failed"
    ANSWER_NOT_SAVED = "answer_not_saved"


@dataclass(frozen=True)
class TurnResult:
    outcome: Outcome
    answer: str = ""
    reply_ts: str = ""
    history_used: int = 0


class Conversation:
    """Answers messages with the thread's remembered history; one instance per process."""

    def __init__(
        self,
        *,
        store: MessageStore,
        model: BaseChatModel,
        system_prompt: str,
        token_budget: int,
        failure_policy: ModelFailurePolicy,
        stream_attempts: int = 3,
        save_attempts: int = 2,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
        log_prompts: bool = False,
        prepare_slots: int = PREPARE_SLOTS,
    ) -> None:
        self._store = store
        self._model = model
        self._system_prompt = system_prompt
        self._token_budget = token_budget
        self._failures = failure_policy
        self._stream_attempts = stream_attempts
        self._save_attempts = save_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        # Message text reaches the logs only when the operator asked for it (LOG_MESSAGE_CONTENT).
        self._log_prompts = log_prompts
        self._queue = SessionQueue()
        self._preparing = threading.BoundedSemaphore(prepare_slots)
        # Answers that were posted while the store was down, written at the thread's next turn.
        self._unsaved: dict[str, list[StoredMessage]] = {}
        self._unsaved_lock = threading.Lock()

    @property
    def store(self) -> MessageStore:
        return self._store

    def answer(
        self, message: IncomingMessage, sink: ReplySink, *,
        on_first_turn: Callable[[], None] | None = None,
    ) -> TurnResult:
        """Answer one user message in its thread, storing the question before the model is
        called (so a failed answer never loses it) and the answer once it is complete.

        `on_first_turn` runs when nothing of the thread is stored before this message (a
        thread the bot joins part-way, a new assistant thread); what it stores is read as
        history. Finding that out from the history read itself saves a request per turn.
        """
        sink.show_status()
        session_id = message.session.id
        with self._queue.turn(session_id, order=sort_key(message.ts)):
            with self._prepare_slot():
                prepared = self._prepare(message, on_first_turn)
            if prepared is None:
                sink.fail(say.STORE_DOWN)
                return TurnResult(Outcome.STORE_FAILED)
            prompt, has_older = prepared
            if self._log_prompts and log.isEnabledFor(logging.DEBUG):
                log.debug("prompt for %s: %s", session_id, _as_json(prompt.messages))
            try:
                text = self._stream_answer(prompt.messages, sink)
            except Exception as error:  # noqa: BLE001 - every model fault ends in one friendly line
                log.error(
                    "model failed for %s: %s", session_id, type(error).__name__, exc_info=error
                )
                sink.fail(self._failures.message_for(error))
                return TurnResult(Outcome.MODEL_FAILED, history_used=prompt.history_used)

            left_out = has_older or prompt.history_left_out > 0
            note = say.context_note(prompt.history_used) if left_out else ""
            reply_ts = sink.finish(note=note)
            answer = StoredMessage.answer(question_ts=message.ts, text=text, posted_ts=reply_ts)
            if not self._save(session_id, answer):
                sink.fail(say.ANSWER_NOT_SAVED)
                return TurnResult(Outcome.ANSWER_NOT_SAVED, text, reply_ts, prompt.history_used)
            return TurnResult(Outcome.ANSWERED, text, reply_ts, prompt.history_used)

    @contextmanager
    def _prepare_slot(self) -> Iterator[None]:
        took = self._preparing.acquire(timeout=PREPARE_WAIT_SECONDS)
        try:
            yield
        finally:
            if took:
                self._preparing.release()

    def _prepare(
        self, message: IncomingMessage, on_first_turn: Callable[[], None] | None
    ) -> tuple[Prompt, bool] | None:
        """Store the question, read the history before it and build the prompt; None when the
        store is down. Also says whether the thread holds more than the history that was read.
        """
        session_id = message.session.id
        question = StoredMessage.human(
            ts=message.ts, text=message.text,
            author_id=message.user_id, author_name=message.user_name,
        )
        try:
            self._write_unsaved(session_id)
            self._store.append(session_id, [question])
            history = self._store.recent(
                session_id, token_budget=self._token_budget, before_key=question.key
            )
            if on_first_turn is not None and not history.messages and not history.has_older:
                on_first_turn()
                history = self._store.recent(
                    session_id, token_budget=self._token_budget, before_key=question.key
                )
        except StoreUnavailable as error:
            log.error("store unavailable before answering %s: %s", session_id, error)
            return None
        prompt = build_prompt(
            system_prompt=self._system_prompt,
            history=history.messages,
            message=message,
            token_budget=self._token_budget,
        )
        return prompt, history.has_older

    def _stream_answer(self, prompt: list[BaseMessage], sink: ReplySink) -> str:
        """Stream the model's answer into the sink.

        A retryable fault before the first word is tried again here when the SDK client did
        not retry it itself: always after the stream started (HTTP 200, an event-stream error),
        before that only if the client gave up without retrying (retrying what it already
        retried would multiply MODEL_MAX_ATTEMPTS). After the first word nothing is retried,
        because the user has already seen part of the answer.
        """
        for attempt in range(1, self._stream_attempts + 1):
            parts: list[str] = []
            started = False
            try:
                for chunk in self._model.stream(prompt):
                    started = True
                    piece = chunk.text
                    if piece:
                        parts.append(piece)
                        sink.write(piece)
                return "".join(parts)
            except Exception as error:
                if parts or attempt == self._stream_attempts:
                    raise
                if not self._failures.should_retry(error, stream_started=started):
                    raise
                log.warning("model attempt %d failed (%s); retrying", attempt, type(error).__name__)
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _save(self, session_id: str, answer: StoredMessage) -> bool:
        for attempt in range(1, self._save_attempts + 1):
            try:
                self._store.append(session_id, [answer])
                return True
            except StoreUnavailable as error:
                log.warning("saving answer for %s failed (attempt %d): %s", session_id, attempt, error)
                if attempt < self._save_attempts:
                    self._sleep(self._backoff * 2 ** (attempt - 1))
        log.error("answer for %s was posted but could not be stored; it is kept in memory "
                  "and written at the thread's next turn", session_id)
        with self._unsaved_lock:
            self._unsaved.setdefault(session_id, []).append(answer)
        return False

    def _write_unsaved(self, session_id: str) -> None:
        """Store answers this thread's earlier turns posted but could not save, so its history
        never holds a question without the answer the user saw (raises StoreUnavailable).
        """
        with self._unsaved_lock:
            unsaved = self._unsaved.get(session_id)
        if not unsaved:
            return
        self._store.append(session_id, unsaved)
        with self._unsaved_lock:
            self._unsaved.pop(session_id, None)
        log.info("stored %d answer(s) of %s that were posted during a store outage",
                 len(unsaved), session_id)


def _as_json(prompt: list[BaseMessage]) -> str:
    return json.dumps([{"role": m.type, "text": m.text} for m in prompt], ensure_ascii=False)
