"""The answer as a user sees it in Slack: status, then native streaming, else post-and-edit.

One `SlackReplySink` per turn. The first piece of the answer starts a streamed message at once
(which also clears the "is thinking…" status); later pieces are buffered so appendStream is
called about once per `buffer_chars` characters or `update_interval` seconds, and never
beyond the process-wide budget in `SlackPacing`. When Slack refuses streaming, the answer is
posted once and edited at most once per `update_interval`.

Each Slack message holds at most MESSAGE_LIMIT characters of the answer; a longer answer goes
on in a new message of the same thread, cut at a paragraph break outside code blocks when one
comes after MESSAGE_SOFT_LIMIT characters. Slack errors are logged and handled here, never
raised to the caller: a Slack outage must not break the turn that stores the answer.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from slack_sdk import WebClient
from slack_sdk.web.chat_stream import ChatStream

from bot import messages as say
from bot.slack.client import Refused, SlackCaller
from bot.slack.formatting import (
    Cut,
    broadcast_prefix_at_end,
    feedback_blocks,
    find_cut,
    last_paragraph_break,
    markdown_blocks,
    neutralize_broadcasts,
    open_fence,
    split_markdown,
    to_mrkdwn,
)
from bot.slack.metadata import notice_metadata
from bot.slack.pacing import SlackPacing

# Slack takes 12,000 characters of markdown per call (markdown_text, markdown blocks). Keeping
# every message at 11,000 lets the post-and-edit fallback take over any message in one
# chat.update, and leaves room for a closing code fence and the note under the answer.
MESSAGE_LIMIT = 11_000
# Past this size a message ends at the next paragraph break, so messages end between
# paragraphs rather than mid-sentence at MESSAGE_LIMIT.
MESSAGE_SOFT_LIMIT = 9_000
_TOO_LONG = frozenset({"msg_too_long", "msg_blocks_too_long"})
STOPPED_BY_SLACK = "message_not_in_streaming_state"
_SMALLEST_RESPLIT = 200


@dataclass
class _Message:
    ts: str
    text: str
    # slack_sdk's ChatStream for a natively streamed message; None for a posted one. We call
    # it only when our pacing says a piece is due (buffer_size=1), so it sends each at once.
    stream: ChatStream | None = None

    @property
    def streaming(self) -> bool:
        return self.stream is not None


class SlackReplySink:
    """A ReplySink that writes one answer into one Slack thread."""

    def __init__(
        self,
        client: WebClient,
        *,
        channel: str,
        thread_ts: str,
        recipient_team_id: str,
        recipient_user_id: str,
        buffer_chars: int,
        update_interval: float,
        loading_messages: Sequence[str] = (),
        status_text: str = say.STATUS_THINKING,
        feedback: bool = True,
        feedback_labels: tuple[str, str] = (say.FEEDBACK_POSITIVE, say.FEEDBACK_NEGATIVE),
        logger: logging.Logger | None = None,
        clock: Callable[[], float] = time.monotonic,
        pacing: SlackPacing | None = None,
    ) -> None:
        self._client = client
        self._channel = channel
        self._thread_ts = thread_ts
        # Required when streaming to channels, not in DMs.
        recipient = {"recipient_team_id": recipient_team_id, "recipient_user_id": recipient_user_id}
        self._recipient = {name: value for name, value in recipient.items() if value}
        self._loading_messages = list(loading_messages)[:10]  # Slack takes at most 10
        self._status_text = status_text
        self._buffer_chars = buffer_chars
        self._update_interval = update_interval
        self._feedback = feedback_blocks(*feedback_labels) if feedback else []
        self._log = logger or logging.getLogger(__name__)
        self._slack = SlackCaller(channel, self._log)
        self._clock = clock
        self._pacing = pacing or SlackPacing()
        # Called when Slack refuses an append because it stopped the stream (the Stop button).
        self.on_stopped_by_slack: Callable[[], None] | None = None
        self._parts: list[str] = []
        self._pending = ""
        self._held = ""
        self._current: _Message | None = None
        self._sent: list[_Message] = []
        self._ts_list: list[str] = []
        self._may_stream = True
        self._gave_up = False
        self._status_requested = False
        self._status_shown = False
        self._finished = False
        self._last_sent = clock()

    @property
    def text(self) -> str:
        """The whole answer exactly as written to the sink (no notes, fences or errors added)."""
        return "".join(self._parts)

    @property
    def message_ts_list(self) -> list[str]:
        return list(self._ts_list)

    # --- ReplySink ------------------------------------------------------------------------

    def show_status(self) -> None:
        # Once per answer: the Slack turn shows it early, before reading the thread.
        if self._status_requested:
            return
        self._status_requested = True
        with suppress(Refused):  # the status is cosmetic; the refusal is logged
            self._set_status(self._status_text, self._loading_messages or None)
            self._status_shown = True

    def withdraw_status(self) -> None:
        """Take down the status this sink put up, when the answer will come from elsewhere."""
        if self._status_shown and not self._ts_list:
            self._status_shown = False
            self._clear_status()

    def write(self, text: str) -> None:
        if not text:
            return
        if self._finished:
            self._log.warning("ignored text written to a finished answer in %s", self._channel)
            return
        self._parts.append(text)
        self._add_pending(text)
        if not self._gave_up and self._is_time_to_send():
            self._safely(lambda: self._send_pending(final=False))

    def _add_pending(self, text: str) -> None:
        """What Slack is sent never pings a channel: a broadcast split across two pieces is held
        back until the next piece shows whether it completes one."""
        held = self._held + text
        keep = broadcast_prefix_at_end(held)
        self._pending += neutralize_broadcasts(held[: len(held) - keep])
        self._held = held[len(held) - keep :]

    def _release_held(self) -> None:
        self._pending += neutralize_broadcasts(self._held)
        self._held = ""

    def tell_privately(self, user_id: str, message: str) -> None:
        """One line only `user_id` sees (a refusal); posted in the thread if Slack will not."""
        self._finished = True
        try:
            self._slack.call_quietly(
                self._client.chat_postEphemeral, channel=self._channel, user=user_id,
                thread_ts=self._thread_ts, text=message, metadata=notice_metadata(),
            )
            if self._status_shown:
                self._clear_status()
        except Refused:
            self.fail(message)

    def finish(self, *, note: str = "") -> str:
        self._release_held()
        if not self._finished:
            self._finished = True
            if not self._gave_up:
                self._safely(lambda: self._close_answer(_note_markdown(note)))
        return self._ts_list[0] if self._ts_list else ""

    def stop(self, *, note: str) -> tuple[str, str]:
        """The person stopped the answer (Slack's Stop button): the answer keeps what Slack
        shows, with `note` after it; what was not sent yet is dropped. Slack has usually
        stopped the stream itself by now, so a refused stopStream is followed by an edit."""
        self._pending, self._held = "", ""
        shown = "".join(message.text for message in self._sent)
        if not self._finished:
            self._finished = True
            if not self._gave_up:
                self._safely(lambda: self._close_stopped(_note_markdown(note)))
        return (self._ts_list[0] if self._ts_list else ""), shown

    def _close_stopped(self, note: str) -> None:
        message = self._current
        if message is None or message.stream is None:
            self._close_answer(note)
            return
        self._current = None
        try:
            self._slack.call_quietly(message.stream.stop, markdown_text=note or None,
                                     blocks=self._feedback or None)
        except Refused:
            # Slack stopped the stream when the person clicked Stop: the message keeps what it
            # showed, and the note is added to it.
            message.stream = None
            self._edit(message, message.text + note, self._feedback)

    def fail(self, message: str) -> None:
        self._release_held()
        self._finished = True
        if not self._gave_up:
            self._safely(lambda: self._send_pending(final=True))
        if self._gave_up:
            self._pending, self._current = "", None
        try:
            self._end_with(message)
        except Refused as refusal:
            self._log.error("could not tell the user about a failure in %s: %s",
                            self._channel, refusal.explain())

    # --- sending --------------------------------------------------------------------------

    def _is_time_to_send(self) -> bool:
        if self._current is None:
            return True  # the first words replace the status at once
        waited = self._clock() - self._last_sent >= self._update_interval
        if self._current.streaming:
            due = waited or len(self._pending) >= self._buffer_chars
            return due and self._pacing.appends.try_take()
        # chat.update: at most once per update_interval
        return waited and self._pacing.updates.try_take()

    def _safely(self, action: Callable[[], None]) -> None:
        try:
            action()
        except Refused as refusal:
            self._gave_up = True
            self._log.error("gave up answering in %s: %s", self._channel, refusal.explain())

    def _send_pending(self, *, final: bool) -> None:
        """Send what is buffered, ending messages that would grow past the limits.

        With `final`, the last part stays in `_pending` for the closing call.
        """
        while self._pending:
            if self._current is None and not self._pending.strip():
                return  # never start a message with nothing visible in it
            shown = self._current.text if self._current else ""
            whole = shown + self._pending
            cut = self._where_message_ends(whole, len(shown), final=final)
            if cut is None:
                if not final:
                    piece, self._pending = self._pending, ""
                    self._send(piece)
                return
            piece = whole[len(shown) : cut.index] + cut.close
            self._pending = cut.reopen + whole[cut.index :]
            if piece:
                self._send(piece)
            self._end_message()

    @staticmethod
    def _where_message_ends(whole: str, shown: int, *, final: bool) -> Cut | None:
        if len(whole) > MESSAGE_LIMIT:
            return find_cut(whole, MESSAGE_LIMIT, earliest=max(shown, 1))
        if final or len(whole) <= MESSAGE_SOFT_LIMIT:
            return None
        paragraph = last_paragraph_break(whole, start=max(shown, MESSAGE_SOFT_LIMIT))
        if paragraph is None or not whole[paragraph:].strip():
            return None
        return Cut(paragraph)

    def _send(self, piece: str) -> None:
        if self._current is None:
            self._start_message(piece)
        else:
            self._extend_message(self._current, piece)
        self._last_sent = self._clock()

    def _start_message(self, text: str) -> None:
        if self._may_stream:
            stream = self._client.chat_stream(
                channel=self._channel, thread_ts=self._thread_ts, buffer_size=1, **self._recipient
            )
            try:
                self._slack.call_quietly(stream.append, markdown_text=text)
                self._remember(_Message(str(stream.ts), text, stream))
                return
            except Refused as refusal:
                self._log.info("native streaming unavailable in %s (%s): posting and editing",
                               self._channel, refusal.error)
                self._may_stream = False
        self._post(text)

    def _extend_message(self, message: _Message, piece: str) -> None:
        try:
            if message.stream is not None:
                self._slack.call(message.stream.append, markdown_text=piece)
                message.text += piece
            else:
                self._edit(message, message.text + piece)
        except Refused as refusal:
            if message.stream is not None and refusal.error == STOPPED_BY_SLACK and \
                    self.on_stopped_by_slack is not None:
                # Slack ended the stream: someone clicked Stop (the event may have reached
                # another replica). The piece is dropped; the turn stops at its next piece.
                self._pending = ""
                self.on_stopped_by_slack()
                return
            # What the message shows stays; only the unsent piece goes on, in a new message.
            self._continue_in_new_message(message, piece)

    def _continue_in_new_message(
        self, message: _Message, piece: str, blocks: Sequence[dict] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if message.streaming:
            self._stop_stream_quietly(message)
            self._may_stream = False
        self._current = None
        fence = open_fence(message.text)
        text = (fence.opening + "\n" + piece) if fence and piece else piece
        if text.strip():
            self._post(text, blocks, metadata)

    def _end_message(self) -> None:
        message, self._current = self._current, None
        if message is not None and message.streaming:
            self._stop_stream_quietly(message)

    def _close_answer(self, note: str) -> None:
        self._send_pending(final=True)
        rest, self._pending = self._pending, ""
        if self._current is None and rest.strip():
            self._start_message(rest)
            rest = ""
        message, self._current = self._current, None
        if message is None:  # nothing of the answer to show: the note alone, or nothing
            if note:
                self._post(note.strip(), metadata=notice_metadata())
            elif self._status_shown and not self._ts_list:
                self._clear_status()
            return
        ending = rest + note
        try:
            if message.stream is not None:
                self._slack.call(message.stream.stop, markdown_text=ending or None,
                                 blocks=self._feedback or None)
            elif ending or self._feedback:
                self._edit(message, message.text + ending, self._feedback)
        except Refused:
            self._continue_in_new_message(message, ending, self._feedback)

    def _end_with(self, notice: str) -> None:
        """Put one friendly message after whatever the answer shows."""
        rest, self._pending = self._pending, ""
        message, self._current = self._current, None
        if message is None:
            if self._status_shown and not self._ts_list:
                self._clear_status()
            self._post(_joined(rest, notice), metadata=notice_metadata())
            return
        fence = open_fence(message.text + rest)
        ending = rest + ("\n" + fence.marker if fence else "") + "\n\n" + notice
        # The answer was cut short: marked, so that it is never read back as one (backfill).
        metadata = notice_metadata()
        try:
            if message.stream is not None:
                self._slack.call(message.stream.stop, markdown_text=ending, metadata=metadata)
            else:
                self._edit(message, message.text + ending, metadata=metadata)
        except Refused:
            self._continue_in_new_message(message, _joined(rest, notice), metadata=metadata)

    # --- Slack calls ----------------------------------------------------------------------

    def _post(
        self, text: str, blocks: Sequence[dict] = (), metadata: dict[str, Any] | None = None
    ) -> None:
        """Post a new message; one Slack finds too long is posted in smaller parts."""
        try:
            response = self._slack.call(
                self._client.chat_postMessage, channel=self._channel, thread_ts=self._thread_ts,
                text=to_mrkdwn(text), blocks=markdown_blocks(text) + list(blocks),
                metadata=metadata,
            )
        except Refused as refusal:
            if refusal.error not in _TOO_LONG or len(text) < _SMALLEST_RESPLIT:
                raise
            parts = split_markdown(text, len(text) // 2 + len(text) // 8)
            for index, part in enumerate(parts):
                self._post(part, blocks if index == len(parts) - 1 else (), metadata)
            return
        self._remember(_Message(str(response["ts"]), text))

    def _edit(
        self, message: _Message, text: str, blocks: Sequence[dict] = (),
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._slack.call(
            self._client.chat_update, channel=self._channel, ts=message.ts,
            text=to_mrkdwn(text), blocks=markdown_blocks(text) + list(blocks), metadata=metadata,
        )
        message.text = text

    def _stop_stream_quietly(self, message: _Message) -> None:
        # Not the ChatStream's stop: after a failed append its buffer still holds the piece,
        # which goes on in the next message instead. If this fails, Slack ends the abandoned
        # stream by itself; the answer goes on anyway.
        with suppress(Refused):
            self._slack.call_quietly(self._client.chat_stopStream, channel=self._channel,
                                     ts=message.ts)

    def _set_status(self, status: str, loading_messages: list[str] | None) -> None:
        self._slack.call_quietly(
            self._client.assistant_threads_setStatus, channel_id=self._channel,
            thread_ts=self._thread_ts, status=status, loading_messages=loading_messages,
        )

    def _clear_status(self) -> None:
        with suppress(Refused):  # else Slack drops the status by itself after two minutes
            self._set_status("", None)

    def _remember(self, message: _Message) -> None:
        self._current = message
        self._sent.append(message)
        self._ts_list.append(message.ts)


def _note_markdown(note: str) -> str:
    """The note as a short italic line under the answer (kept as is if already emphasised)."""
    note = say.short_note(note)
    if not note:
        return ""
    emphasised = note[0] == note[-1] and note[0] in "_*" and len(note) > 1
    return "\n\n" + (note if emphasised else f"_{note}_")


def _joined(text: str, notice: str) -> str:
    return f"{text}\n\n{notice}" if text.strip() else notice

