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
from dataclasses import replace
from functools import partial
from typing import Protocol

from langchain_core.language_models import BaseChatModel
from langchain_core.messages import BaseMessage, BaseMessageChunk
from langchain_core.messages.ai import UsageMetadata, add_usage

from bot import messages as say
from bot.core.endings import (
    BLOCKED,
    STOPPED,
    AnswerBlocked,
    AnswerStopped,
    StoppableSink,
    StopSignal,
)
from bot.core.files import files_metadata
from bot.core.ports import ClaimState, FileAttacher, MessageStore, ReplySink, StoreUnavailable
from bot.core.profile import TurnProfile
from bot.core.prompt import WINDOW_START, Prompt, build_prompt, previous_window_start
from bot.core.records import (
    ANSWER_SLOT,
    BACKFILL_DONE,
    BACKFILL_PENDING,
    IncomingMessage,
    RecentHistory,
    SessionKey,
    SessionState,
    StoredMessage,
    Summary,
    Usage,
    UsageRecord,
    is_before,
    sort_key,
    ts_of_key,
)
from bot.core.serial import Intake, SessionQueue
from bot.core.summary import Summarizer, SummaryFailed
from bot.core.tokens import count_tokens, estimate_tokens
from bot.core.usage import usage_of, utc_day

log = logging.getLogger(__name__)

# A summary made after an answer (for the next turn) is not started this close to the
# process's deadline (SIGTERM's grace, a Lambda's remaining time): the next turn makes it.
SUMMARY_AHEAD_SECONDS = 60.0
# Sorts after a message's answer and before the thread's next message (records.sort_key).
AFTER_ANSWER_SLOT = chr(ord(ANSWER_SLOT) + 1)

class ModelFailurePolicy(Protocol):
    """How model errors are worded for users and whether a fresh attempt may help."""

    def message_for(self, error: BaseException) -> str: ...

    def should_retry(self, error: BaseException, *, stream_started: bool) -> bool: ...


class AnswerInterrupted(Exception):
    """The process is stopping: the answer ends with what was shown so far."""

    def __init__(self, shown: str) -> None:
        super().__init__("the answer was cut short")
        self.shown = shown
        self.usage = Usage()


class ThreadUnreadable(Exception):
    """The thread's earlier messages could not be read (its source failed or refused)."""


class ThreadHistory(Protocol):
    """Where a thread's earlier messages come from when the bot joins it part-way (Slack:
    conversations.replies, bot.slack.backfill). Raises ThreadUnreadable."""

    def earlier_messages(
        self, session: SessionKey, *, before_ts: str, after_ts: str
    ) -> list[StoredMessage]:
        """The thread's messages with after_ts < ts < before_ts, oldest first."""
        ...


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
        mark_cache: Callable[[Prompt], list[BaseMessage]] | None = None,
        profile_for: Callable[[SessionKey], TurnProfile] | None = None,
        summarizer: Summarizer | None = None,
        model_id: str = "",
        clock: Callable[[], float] = time.time,
        attach_files: FileAttacher | None = None,
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
        # The provider's prompt-cache markers, added right before the model call (bot.model.cache).
        self._mark_cache = mark_cache
        # A channel's own prompt, budget and model (CHANNEL_PROFILES_FILE); else the above.
        self._profile_for = profile_for
        # Summarises what leaves the window (None: it is left out, with a note).
        self._summarizer = summarizer
        self._model_id = model_id
        self._clock = clock
        # Puts the bytes of the thread's files into the prompt (bot.files.attach).
        self._attach_files = attach_files
        self._queue = SessionQueue()
        self._deadline: float | None = None
        # Answers that were posted while the store was down, written at the thread's next turn.
        self._unsaved: dict[str, list[tuple[StoredMessage, UsageRecord | None]]] = {}
        self._unsaved_lock = threading.Lock()

    @property
    def store(self) -> MessageStore:
        return self._store

    def finish_answers_by(self, deadline: float) -> None:
        """Answers still streaming at `deadline` (time.monotonic) stop there, keeping what was
        shown: the process is about to stop (SIGTERM's grace, a Lambda's remaining time)."""
        self._deadline = deadline

    def reserve_turn(self, session_id: str, ts: str) -> int:
        """Take the message's place in its thread's queue as soon as it arrives (see serial.py)."""
        return self._queue.reserve(session_id, order=sort_key(ts))

    def cancel_turn(self, reservation: int) -> None:
        self._queue.cancel(reservation)

    def in_order(
        self, session_id: str, ts: str, intake: Intake, *, reservation: int | None = None
    ) -> None:
        """Take a message of the thread in, in its place, and have what it needs answered with
        the thread's other messages (serial.py); returns at once if the thread is busy."""
        self._queue.handle(session_id, intake, order=sort_key(ts), reservation=reservation)

    def knows(self, session_id: str) -> bool:
        """Whether anything of the thread is remembered (the bot is part of it)."""
        return self._store.has_session(session_id)

    def claim(self, message: IncomingMessage, *, remember: bool = True, done: bool = False) -> ClaimState:
        """Exactly once: the message is stored (`remember`) and claimed by this worker in one
        write; any other delivery of it, here or on another replica, finds it taken. `done`:
        nothing is to be answered (a message only remembered, a refusal). Raises StoreUnavailable.
        """
        return self._store.claim(
            message.session.id, sort_key(message.ts),
            message=_question(message) if remember else None, done=done,
        )

    def answer(
        self, message: IncomingMessage, sink: ReplySink, *,
        thread: ThreadHistory | None = None,
        on_new_thread: Callable[[IncomingMessage], None] | None = None,
        stop: StopSignal | None = None,
    ) -> Callable[[], None]:
        """Answer one user message in its thread, once it has been claimed (which stored it,
        so a failed answer never loses it); the answer is stored when it is complete, in the
        same write that completes the claim. Returns what is left to do once the answer is
        closed (a summary for the next turn, or nothing): the caller runs it on the same
        worker, before the thread's next message, after telling Slack the answer is done.

        `thread` is where a thread the bot joins part-way is read from, once; a read that
        fails is tried again on the next turn, and this turn answers with what it has.
        `on_new_thread` runs when nothing of the thread was stored before this message.
        `stop` is set when the person stops the answer: it ends within a piece of the stream.
        """
        sink.show_status()
        session_id = message.session.id
        profile = self.profile_of(message.session)
        prepared = self._prepare(message, thread, on_new_thread, profile)
        if prepared is None:
            sink.fail(say.STORE_DOWN)
            self._complete_quietly(message)
            return _nothing
        prompt, notes, summarising, history = prepared
        if summarising.total_tokens:
            self._record_usage(self._usage_record(message, summarising, summaries=1))
        if self._attach_files is not None:
            prompt, file_notes = self._attach_files(prompt, message.session,
                                                    token_budget=profile.token_budget)
            notes.extend(file_notes)
        if self._log_prompts and log.isEnabledFor(logging.DEBUG):
            log.debug("prompt for %s: %s", session_id, _as_json(prompt.messages))
        try:
            messages = profile.mark_cache(prompt) if profile.mark_cache else prompt.messages
            text, usage = self._stream_answer(messages, sink, profile=profile, stop=stop)
        except AnswerStopped as stopped:
            log.info("answer for %s stopped by the person", session_id)
            shown, reply_ts = stopped.shown, ""
            if isinstance(sink, StoppableSink):
                reply_ts, shown = sink.stop(note=say.STOPPED)
            else:
                reply_ts = sink.finish(note=say.STOPPED)
            self._keep_partial(message, prompt, shown, status=STOPPED, usage=stopped.usage,
                               posted_ts=reply_ts)
            return _nothing
        except AnswerBlocked as blocked:
            log.warning("answer for %s blocked by the model's guardrail", session_id)
            sink.fail(blocked.message or say.GUARDRAIL_BLOCKED)
            self._keep_partial(message, prompt, blocked.shown, status=BLOCKED,
                               usage=blocked.usage)
            return _nothing
        except AnswerInterrupted as cut:
            # Stopping (SIGTERM, a Lambda deadline): keep what was shown and say so; the part
            # stored is what the person saw, marked as such.
            log.warning("answer for %s cut short: the process is stopping", session_id)
            sink.fail(say.INTERRUPTED)
            self._keep_partial(message, prompt, cut.shown, status="interrupted", usage=cut.usage)
            return _nothing
        except Exception as error:  # noqa: BLE001 - every model fault ends in one friendly line
            log.error(
                "model failed for %s: %s", session_id, type(error).__name__, exc_info=error
            )
            sink.fail(self._failures.message_for(error))
            self._complete_quietly(message)
            return _nothing

        reply_ts = sink.finish(note=" ".join(notes))
        answer = StoredMessage.answer(
            question_ts=message.ts, text=text, posted_ts=reply_ts,
            metadata={**_window_of(prompt), USAGE: usage_json(usage)},
        )
        if not self._save(message, answer, usage):
            sink.fail(say.ANSWER_NOT_SAVED)
            return _nothing
        if self._summarizer is None or _summary_due(prompt, history):
            return _nothing  # no summaries, or this turn's failed or caught up only in part
        return partial(self._summarise_ahead, message, history, answer, profile)

    def _summarise_ahead(self, message: IncomingMessage, history: RecentHistory,
                         answer: StoredMessage, profile: TurnProfile) -> None:
        """After the answer: if the thread's next message will move the window, summarise what
        leaves now, while the person reads, so that turn does not wait for it. The forecast is
        made from what this turn read; only when it says so is the thread read again, as it is
        now (edits, deletions), and summarised. Best effort: whatever fails, the next turn
        summarises in its place, as does a next message long enough to push out more.
        """
        if self._stopping_within(SUMMARY_AHEAD_SECONDS):
            return
        # The next message is taken to be as long as this one (it is never sent).
        follow_up = IncomingMessage(message.session, message.ts, message.user_id, message.text,
                                    message.user_name)
        after = RecentHistory([*history.messages, _question(message), answer],
                              has_older=history.has_older, state=history.state)
        forecast = self._prompt(follow_up, after, history.state.summary, profile)
        if not forecast.window_start or not _summary_due(forecast, after):
            return
        try:
            now = self._history(message.session.id, sort_key(message.ts, AFTER_ANSWER_SLOT),
                                profile.token_budget)
            until = None if self._deadline is None else self._deadline - SUMMARY_AHEAD_SECONDS
            _, used, _ = self._summarised(follow_up, now, profile, rebuild=False, until=until)
        except Exception as error:  # noqa: BLE001 - the answer is done; the next turn tries
            log.warning("summary of %s not made ahead (%s); the next turn makes it",
                        message.session.id, type(error).__name__)
            return
        if used.total_tokens:
            self._record_usage(self._usage_record(message, used, summaries=1))

    def _stopping_within(self, seconds: float) -> bool:
        return self._deadline is not None and time.monotonic() + seconds >= self._deadline

    def _keep_partial(
        self, message: IncomingMessage, prompt: Prompt, shown: str, *, status: str,
        usage: Usage | None = None, posted_ts: str = "",
    ) -> None:
        """Store what the person saw of an answer that did not end on its own, marked."""
        metadata = {"status": status, **_window_of(prompt)}
        if usage is not None:
            metadata[USAGE] = usage_json(usage)
        self._save(message, StoredMessage.answer(
            question_ts=message.ts, text=shown, posted_ts=posted_ts, metadata=metadata), usage)

    def _usage_record(self, message: IncomingMessage, usage: Usage, *, answers: int = 0,
                      summaries: int = 0) -> UsageRecord:
        return UsageRecord(day=utc_day(self._clock()), session_id=message.session.id,
                           user_id=message.user_id, usage=usage, answers=answers,
                           summaries=summaries)

    def _record_usage(self, record: UsageRecord) -> None:
        """Usage counts are for reports and caps: a store fault loses the count, not the turn."""
        try:
            self._store.add_usage(record)
        except StoreUnavailable as error:
            log.warning("usage of %s not counted: %s", record.session_id, error)

    def profile_of(self, session: SessionKey) -> TurnProfile:
        if self._profile_for is not None:
            return self._profile_for(session)
        return TurnProfile(self._system_prompt, self._token_budget, self._model, self._mark_cache,
                           model_id=self._model_id)

    def release(self, message: IncomingMessage) -> None:
        """The turn failed in a way nobody planned for: a delivery still to come may answer."""
        try:
            self._store.release(message.session.id, sort_key(message.ts))
        except StoreUnavailable as error:
            log.warning("could not release %s of %s: %s", message.ts, message.session.id, error)

    def finish(self, message: IncomingMessage) -> None:
        """Mark a claimed message handled without an answer (raises StoreUnavailable)."""
        self._store.complete(message.session.id, sort_key(message.ts))

    def _complete_quietly(self, message: IncomingMessage) -> None:
        """The turn ended without an answer: the claim is done (a retry would end the same way)."""
        try:
            self.finish(message)
        except StoreUnavailable as error:
            log.warning("could not mark %s of %s done: %s", message.ts, message.session.id, error)

    def apply_edit(self, session_id: str, ts: str, *, text: str, edited_ts: str) -> bool:
        """A person edited a remembered message: the newest text is what is replayed, and a
        summary that covers it is built again."""
        edited = self._store.edit(session_id, sort_key(ts), text=text, edited_ts=edited_ts)
        if edited:
            self._store.invalidate_summary(session_id, changed_key=sort_key(ts))
        return edited

    def apply_deletion(self, session_id: str, ts: str, *, posted_by_bot: bool) -> int:
        """A message is gone from the thread: forget it. A person's deleted message takes the
        bot's answer to it along (the answer may quote it); a deleted answer of the bot's is
        found by the ts it was posted with."""
        if posted_by_bot:
            keys = [m.key for m in self._store.all(session_id)
                    if m.role == "ai" and (m.slack_ts == ts or m.key == sort_key(ts))]
        else:
            keys = [sort_key(ts), sort_key(ts, ANSWER_SLOT)]
        deleted = self._store.delete(session_id, keys) if keys else 0
        if deleted:
            self._store.invalidate_summary(session_id, changed_key=min(keys))
        return deleted

    def _prepare(
        self, message: IncomingMessage, thread: ThreadHistory | None,
        on_new_thread: Callable[[IncomingMessage], None] | None, profile: TurnProfile,
    ) -> tuple[Prompt, list[str], Usage, RecentHistory] | None:
        """Read the history before the question (and the thread, when the bot joins it
        part-way) and build the prompt, with the notes to show under the answer, what
        summarising used and the history the prompt was built from; None when the store is down.
        """
        session_id = message.session.id
        question = _question(message)
        notes: list[str] = []
        try:
            self._write_unsaved(session_id)
            history = self._history(session_id, question.key, profile.token_budget)
            is_new = not history.messages and not history.has_older
            if on_new_thread is not None and is_new:
                on_new_thread(message)
            if thread is not None and _needs_backfill(message, history, is_new=is_new):
                if not self._backfill(message, history.state, thread):
                    notes.append(say.THREAD_UNREAD)
                history = self._history(session_id, question.key, profile.token_budget)
            prompt, summarising, history = self._summarised(message, history, profile)
        except StoreUnavailable as error:
            log.error("store unavailable before answering %s: %s", session_id, error)
            return None
        if prompt.summarised:
            notes.append(say.summary_note(prompt.summarised, prompt.history_used))
        elif history.has_older or prompt.history_left_out:
            notes.append(say.context_note(prompt.history_used))
        return prompt, notes, summarising, history

    def _prompt(self, message: IncomingMessage, history: RecentHistory, summary: Summary,
                profile: TurnProfile) -> Prompt:
        return build_prompt(
            system_prompt=profile.system_prompt,
            history=history.messages,
            message=message,
            token_budget=profile.token_budget,
            window_start=previous_window_start(history.messages),
            summary=summary,
        )

    def _summarised(self, message: IncomingMessage, history: RecentHistory,
                    profile: TurnProfile, *, rebuild: bool = True, until: float | None = None,
                    ) -> tuple[Prompt, Usage, RecentHistory]:
        """The prompt, with the thread's summary first once messages left the window; the
        messages that left since the summary was made are merged into it first (and stored).
        A failed summary leaves them out, and the next turn tries again. Also what summarising
        used, and the history with the summary the prompt holds. `rebuild`: when the summary
        is refused (the thread changed meanwhile), read the thread again for the prompt.
        `until`: no further piece is summarised past it (default: the process's deadline)."""
        if self._summarizer is None:  # SUMMARIES=false: a summary made before is not sent
            return self._prompt(message, history, Summary(), profile), Usage(), history
        summary = history.state.summary
        prompt = self._prompt(message, history, summary, profile)
        if not _summary_due(prompt, history):
            return prompt, Usage(), history
        since = summary.through if summary.text else ""
        first_kept = prompt.window_start or sort_key(message.ts)
        budget = profile.token_budget
        loaded, through = history.messages, first_kept
        try:
            if history.has_older and (not loaded or loaded[0].key > since):
                # What left the window is older than the read (a long thread read from Slack,
                # a summary built again after an edit): what this turn can summarise is read,
                # and the summary then ends where that read stopped.
                loaded, cut_at = self._store.between(
                    message.session.id, from_key=since, before_key=first_kept,
                    token_budget=self._summarizer.tokens_per_turn(budget))
                through = cut_at or first_kept
            leaving = [m for m in loaded if since <= m.key < through]
            if not leaving:
                return prompt, Usage(), history
            try:
                extended, used = self._summarizer.extend(
                    summary, leaving, through=through, token_budget=budget,
                    until=until if until is not None else self._deadline,
                    turn_model=(profile.model, profile.model_id))
            except SummaryFailed as failed:
                log.warning("summarising %s failed (%s); the messages that left are left out "
                            "until a later turn summarises them", message.session.id, failed)
                return prompt, failed.used, history
            if self._store.save_summary(message.session.id, extended):
                log.info("summary of %s now covers %d messages (%d more)", message.session.id,
                         extended.count, extended.count - summary.count)
                kept = replace(history, state=replace(history.state, summary=extended))
                return self._prompt(message, kept, extended, profile), used, kept
        except StoreUnavailable as error:
            log.warning("summary of %s not read or kept (%s); it is tried again next turn",
                        message.session.id, error)
            return prompt, Usage(), history
        # Refused: a message was edited or deleted meanwhile. The prompt is built again from
        # the thread as it is now, so what was deleted is not sent.
        log.info("summary of %s not kept: the thread changed while it was made",
                 message.session.id)
        if not rebuild:
            return prompt, used, history
        fresh = self._history(message.session.id, sort_key(message.ts), budget)
        return self._prompt(message, fresh, fresh.state.summary, profile), used, fresh

    def _history(self, session_id: str, before_key: str, token_budget: int) -> RecentHistory:
        return self._store.recent(session_id, token_budget=token_budget, before_key=before_key)

    def _backfill(self, message: IncomingMessage, state: SessionState, thread: ThreadHistory) -> bool:
        """Store what the thread said before the bot came; False if it could not be read.

        The thread counts as read only once this has finished, so a failed read is tried
        again on the next turn, up to the message that started it.
        """
        session = message.session
        before = state.backfill_before or message.ts
        if state.backfill != BACKFILL_PENDING:
            self._store.mark_backfill(session.id, state=BACKFILL_PENDING, before_ts=before)
        try:
            earlier = thread.earlier_messages(session, before_ts=before, after_ts=state.forgotten_at)
        except ThreadUnreadable as error:
            log.warning("could not read the thread %s (%s); it is read again next turn",
                        session.id, error)
            return False
        forgotten = self._store.forgotten_authors([m.author_id for m in earlier if m.author_id])
        kept = [m for m in earlier
                if not (m.author_id in forgotten and not is_before(forgotten[m.author_id], m.slack_ts))]
        self._store.append(session.id, kept, guarded=True)  # a forget while reading wins
        self._store.mark_backfill(session.id, state=BACKFILL_DONE, before_ts=before)
        return True

    def _stream_answer(
        self, prompt: list[BaseMessage], sink: ReplySink, *, profile: TurnProfile,
        stop: StopSignal | None = None,
    ) -> tuple[str, Usage]:
        """Stream the model's answer into the sink.

        A retryable fault before the first word is tried again here when the SDK client did
        not retry it itself: always after the stream started (HTTP 200, an event-stream error),
        before that only if the client gave up without retrying (retrying what it already
        retried would multiply MODEL_MAX_ATTEMPTS). After the first word nothing is retried,
        because the user has already seen part of the answer.
        A stop ends the stream at its next piece; closing the stream closes the model's
        connection, so the model stops writing (and billing) too.
        """
        for attempt in range(1, self._stream_attempts + 1):
            parts: list[str] = []
            started = False
            began = time.monotonic()
            usage: UsageMetadata | None = None
            try:
                with _closing(profile.model.stream(prompt)) as chunks:
                    for chunk in chunks:
                        started = True
                        if stop is not None and stop.is_set():
                            raise AnswerStopped("".join(parts))
                        piece = chunk.text
                        if piece:
                            parts.append(piece)
                            sink.write(piece)
                        reported = getattr(chunk, "usage_metadata", None)
                        if reported:
                            usage = add_usage(usage, reported)
                        if self._deadline is not None and time.monotonic() >= self._deadline:
                            raise AnswerInterrupted("".join(parts))
                if stop is not None and stop.is_set():
                    raise AnswerStopped("".join(parts))
                return "".join(parts), usage_of(usage, model_id=profile.model_id, started=began)
            except (AnswerInterrupted, AnswerStopped) as cut:
                # A cut stream reports no usage: what was sent and shown is estimated.
                cut.usage = usage_of(usage or estimated_usage(prompt, cut.shown),
                                     model_id=profile.model_id, started=began)
                raise
            except AnswerBlocked as blocked:
                blocked.shown = "".join(parts)
                blocked.usage = usage_of(usage, model_id=profile.model_id, started=began)
                raise
            except Exception as error:
                if parts or attempt == self._stream_attempts:
                    raise
                if not self._failures.should_retry(error, stream_started=started):
                    raise
                log.warning("model attempt %d failed (%s); retrying", attempt, type(error).__name__)
                self._sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")

    def _save(self, message: IncomingMessage, answer: StoredMessage, usage: Usage | None) -> bool:
        """Store the answer and count its usage in the write that completes the claim."""
        session_id = message.session.id
        record = self._usage_record(message, usage, answers=1) if usage is not None else None
        for attempt in range(1, self._save_attempts + 1):
            try:
                if not self._store.complete(session_id, _question_key(answer), answer=answer,
                                            usage=record):
                    log.info("answer for %s not stored: its question was deleted, or the thread "
                             "forgotten, while it was being written", session_id)
                    if record is not None:  # the model's work is paid for all the same
                        self._record_usage(record)
                return True
            except StoreUnavailable as error:
                log.warning("saving answer for %s failed (attempt %d): %s", session_id, attempt, error)
                if attempt < self._save_attempts:
                    self._sleep(self._backoff * 2 ** (attempt - 1))
        log.error("answer for %s was posted but could not be stored; it is kept in memory "
                  "and written at the thread's next turn", session_id)
        with self._unsaved_lock:
            self._unsaved.setdefault(session_id, []).append((answer, record))
        return False

    def _write_unsaved(self, session_id: str) -> None:
        """Store answers this thread's earlier turns posted but could not save, so its history
        never holds a question without the answer the user saw (raises StoreUnavailable).
        """
        with self._unsaved_lock:
            unsaved = self._unsaved.get(session_id)
        if not unsaved:
            return
        for answer, record in unsaved:
            self._store.complete(session_id, _question_key(answer), answer=answer, usage=record)
        with self._unsaved_lock:
            self._unsaved.pop(session_id, None)
        log.info("stored %d answer(s) of %s that were posted during a store outage",
                 len(unsaved), session_id)


def estimated_usage(prompt: list[BaseMessage], shown: str) -> UsageMetadata:
    inputs, outputs = count_tokens(prompt), estimate_tokens(shown) if shown else 0
    return {"input_tokens": inputs, "output_tokens": outputs, "total_tokens": inputs + outputs}


@contextmanager
def _closing(stream: Iterator[BaseMessageChunk]) -> Iterator[Iterator[BaseMessageChunk]]:
    """Close the model's stream when the loop over it ends early (its HTTP response with it)."""
    try:
        yield stream
    finally:
        close = getattr(stream, "close", None)
        if close is not None:
            close()


# An answer's metadata: what its model call used (usage_json).
USAGE = "usage"


def usage_json(usage: Usage) -> str:
    return json.dumps({"in": usage.input_tokens, "out": usage.output_tokens,
                       "cache_read": usage.cache_read_tokens,
                       "cache_write": usage.cache_write_tokens, "model": usage.model_id,
                       "ms": usage.latency_ms}, separators=(",", ":"))


def _window_of(prompt: Prompt) -> dict[str, str]:
    return {WINDOW_START: prompt.window_start} if prompt.window_start else {}


def _as_json(prompt: list[BaseMessage]) -> str:
    return json.dumps([{"role": m.type, "text": m.text} for m in prompt], ensure_ascii=False)


def _question_key(answer: StoredMessage) -> str:
    return sort_key(ts_of_key(answer.key))


def _question(message: IncomingMessage) -> StoredMessage:
    return StoredMessage.human(
        ts=message.ts, text=message.text, author_id=message.user_id, author_name=message.user_name,
        metadata=files_metadata(message.files),
    )


def _nothing() -> None:
    """Nothing is left to do after the answer."""


def _summary_due(prompt: Prompt, history: RecentHistory) -> bool:
    """Whether messages left the prompt's window that its history's summary does not cover."""
    summary = history.state.summary
    since = summary.through if summary.text else ""
    first_kept = prompt.window_start or "~"  # an empty window: everything before left
    return since < first_kept and bool(prompt.history_left_out or history.has_older)


def _needs_backfill(message: IncomingMessage, history: RecentHistory, *, is_new: bool) -> bool:
    """A reply in a thread whose earlier messages were never (completely) read: nothing of it
    is stored, or only people's messages remembered without an answer (over a rate limit or
    a cap) and not its first message."""
    if history.state.backfill == BACKFILL_PENDING:
        return True
    if message.ts == message.session.thread_ts or history.state.backfill == BACKFILL_DONE:
        return False
    root = sort_key(message.session.thread_ts)
    return is_new or (not history.has_older and not history.state.summary.text and all(
        m.role == "human" and m.key != root for m in history.messages))
