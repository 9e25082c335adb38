"""From a Slack message to an answered turn: filter, claim once, decode, answer, in thread order.

Every message event takes its place in its thread's queue while Slack's request is still being
acknowledged (`reserve`), so a thread's messages are handled in the order they reached the
bot; edits and deletions of remembered messages go through the same queue (`mirror`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from slack_sdk import WebClient

from bot import messages as say
from bot.core.conversation import Conversation, ThreadUnreadable
from bot.core.ports import ClaimState, ClaimStore, StoreUnavailable
from bot.core.records import IncomingMessage, SessionKey
from bot.slack.ack_first import AckFirst
from bot.slack.backfill import SlackThread
from bot.slack.events import (
    MessageDeletion,
    MessageEdit,
    SlackMessage,
    ignore_reason,
    parse_change,
    parse_message,
)
from bot.slack.pacing import SlackPacing
from bot.slack.payload import mapping_of
from bot.slack.reply import SlackReplySink
from bot.slack.text import decode_slack_text, mentions_user, says_something
from bot.slack.timing import timed_turn, turn_clock
from bot.slack.users import UserNames

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TurnPolicy:
    allowed_channel_ids: frozenset[str] = frozenset()
    allowed_user_ids: frozenset[str] = frozenset()
    reply_without_mention_in_threads: bool = True
    loading_messages: tuple[str, ...] = ()
    stream_buffer_chars: int = 400
    update_interval_seconds: float = 1.0
    # Shared by every answer of the app: Slack's rate limits count per app, not per message.
    pacing: SlackPacing = field(default_factory=SlackPacing)

    def allows(self, *, channel_id: str, user_id: str) -> bool:
        channel_ok = not self.allowed_channel_ids or channel_id in self.allowed_channel_ids
        user_ok = not self.allowed_user_ids or user_id in self.allowed_user_ids
        return channel_ok and user_ok


def claim_keys(message: SlackMessage) -> list[str]:
    """One key per message: its retries, and its app_mention and message events, share it."""
    return [f"msg:{message.team_id}:{message.channel_id}:{message.ts}"]


def is_handled_here(message: SlackMessage, *, bot_user_id: str, via_mention: bool) -> bool:
    """Whether this delivery is the one that handles the message: a message event that also
    mentions the bot outside a DM is answered through its app_mention event instead."""
    if ignore_reason(message, bot_user_id=bot_user_id) is not None:
        return False
    if via_mention or message.is_direct_message:
        return True
    return message.is_in_thread and not mentions_user(message.text, bot_user_id)


def place_in_thread(body: Mapping[str, Any], *, bot_user_id: str) -> tuple[str, str] | None:
    """The (session id, ts) a delivery takes its turn under, or None if it needs no turn."""
    if mapping_of(body.get("event")).get("type") not in ("message", "app_mention"):
        return None
    change = parse_change(body)
    if change is not None:
        session = SessionKey(change.team_id, change.channel_id, change.thread_ts)
        return session.id, change.ts
    message = parse_message(body)
    if message is None or not is_handled_here(
        message, bot_user_id=bot_user_id, via_mention=message.event_type == "app_mention"
    ):
        return None
    return SessionKey(message.team_id, message.channel_id, message.session_thread_ts).id, message.ts


class SlackTurns:
    """Everything the Slack listeners share; one instance per app."""

    def __init__(
        self,
        *,
        conversation: Conversation,
        claims: ClaimStore,
        fallback_claims: ClaimStore,
        policy: TurnPolicy,
        user_names: UserNames,
        ack_first: AckFirst | None = None,
    ) -> None:
        self._ack_first = ack_first
        self._conversation = conversation
        self._claims = claims
        self._fallback_claims = fallback_claims
        self._policy = policy
        self._names = user_names

    def reserve(self, body: Mapping[str, Any], *, bot_user_id: str) -> int | None:
        """Take the event's place in its thread's queue (called while it is acknowledged)."""
        place = place_in_thread(body, bot_user_id=bot_user_id)
        return None if place is None else self._conversation.reserve_turn(*place)

    def handle(
        self, message: SlackMessage, *, client: WebClient, bot_user_id: str, addressed: bool,
        reservation: int | None = None,
        on_new_session: Callable[[IncomingMessage], None] | None = None,
    ) -> None:
        """Answer (or just remember) one message. `addressed`: a mention or a DM; otherwise a
        reply in a channel thread, answered only when the bot is already part of that thread.
        `on_new_session` runs once the message is claimed, if its thread has no history yet
        (the assistant pane titles a thread after its first question).
        """
        try:
            self._handle(message, client=client, bot_user_id=bot_user_id, addressed=addressed,
                         reservation=reservation, on_new_session=on_new_session)
        finally:
            if reservation is not None:
                self._conversation.cancel_turn(reservation)  # a no-op once the turn took it

    def _handle(
        self, message: SlackMessage, *, client: WebClient, bot_user_id: str, addressed: bool,
        reservation: int | None, on_new_session: Callable[[IncomingMessage], None] | None,
    ) -> None:
        reason = ignore_reason(message, bot_user_id=bot_user_id)
        if reason:
            log.debug("ignored %s in %s: %s", message.ts, message.channel_id, reason)
            return
        if self._ack_first is not None:
            self._ack_first.wait_for_turn()
        started = turn_clock()
        session = SessionKey(message.team_id, message.channel_id, message.session_thread_ts)
        # An unaddressed follow-up is only for the bot if it is part of the thread already.
        if not addressed and not self._is_part_of(session):
            return
        sink = self._sink(client, session, user_id=message.user_id)
        if self._will_answer(message, addressed=addressed):
            # The status goes up before the claim, a DynamoDB write that queues when many
            # events arrive at once: the status is what the person is waiting to see.
            sink.show_status()
        if not self._claim(message):
            # A duplicate delivery: the first one shows its own status, or has answered.
            sink.withdraw_status()
            return
        with timed_turn(session.id, since=started), self._conversation.turn_of(
            session.id, message.ts, reservation=reservation
        ):
            try:
                self._run(message, session, sink=sink, client=client, bot_user_id=bot_user_id,
                          addressed=addressed, on_new_session=on_new_session)
            except Exception as error:  # noqa: BLE001 - a turn never ends in silence
                log.error("turn for %s in %s failed: %s", message.ts, session.id,
                          type(error).__name__, exc_info=error)
                sink.fail(say.MODEL_FAILED)
            finally:
                self._complete(message)

    def _will_answer(self, message: SlackMessage, *, addressed: bool) -> bool:
        """Whether the message, as far as can be told before reading anything, gets an answer."""
        return (
            (addressed or self._policy.reply_without_mention_in_threads)
            and self._policy.allows(channel_id=message.channel_id, user_id=message.user_id)
            and says_something(message.text)
        )

    def _run(
        self, message: SlackMessage, session: SessionKey, *, sink: SlackReplySink,
        client: WebClient, bot_user_id: str, addressed: bool,
        on_new_session: Callable[[IncomingMessage], None] | None,
    ) -> None:
        if not self._policy.allows(channel_id=message.channel_id, user_id=message.user_id):
            log.info("refused %s in %s: not in the allowlists", message.user_id, message.channel_id)
            if addressed:
                sink.fail(say.NOT_ALLOWED)
            return
        self._names.remember(message.user_id, message.user_name)
        text = decode_slack_text(message.text, bot_user_id=bot_user_id, name_of=self._names.name_of)
        if not text or not says_something(message.text):
            # A follow-up nobody addressed to the bot that only pings people is not for it.
            if addressed or message.has_files:
                sink.fail(say.FILES_ONLY if message.has_files else say.EMPTY_MESSAGE)
            return
        incoming = IncomingMessage(
            session=session, ts=message.ts, user_id=message.user_id, text=text,
            user_name=self._names.name_of(message.user_id),
        )
        if not addressed and not self._policy.reply_without_mention_in_threads:
            try:
                self._conversation.remember(incoming)
            except StoreUnavailable as error:
                log.error("store unavailable for %s: %s", session.id, error)
                sink.fail(say.STORE_DOWN)
            return
        self._conversation.answer(
            incoming, sink, on_new_thread=on_new_session,
            thread=SlackThread(client, bot_user_id=bot_user_id, name_of=self._names.name_of),
        )

    def mirror(self, body: Mapping[str, Any], *, bot_user_id: str,
               reservation: int | None = None) -> None:
        """Apply an edit or a deletion to the thread's memory; never answer it."""
        try:
            change = parse_change(body)
            if change is None:
                return
            session = SessionKey(change.team_id, change.channel_id, change.thread_ts)
            with self._conversation.turn_of(session.id, change.ts, reservation=reservation):
                self._apply(change, session, bot_user_id=bot_user_id)
        except StoreUnavailable as error:
            log.error("could not mirror a change in %s: %s", body.get("event_id"), error)
        finally:
            if reservation is not None:
                self._conversation.cancel_turn(reservation)

    def _apply(
        self, change: MessageEdit | MessageDeletion, session: SessionKey, *, bot_user_id: str
    ) -> None:
        by_bot = change.user_id == bot_user_id
        if isinstance(change, MessageDeletion):
            removed = self._conversation.apply_deletion(session.id, change.ts, posted_by_bot=by_bot)
            if removed:
                log.info("forgot %d deleted message(s) at %s in %s", removed, change.ts, session.id)
            return
        if by_bot or change.bot_id:
            return  # the bot's own edits while streaming, and other apps: not a person's words
        text = decode_slack_text(change.text, bot_user_id=bot_user_id, name_of=self._names.name_of)
        if self._conversation.apply_edit(session.id, change.ts, text=text,
                                         edited_ts=change.edited_ts):
            log.info("applied an edit of %s in %s", change.ts, session.id)

    def _is_part_of(self, session: SessionKey) -> bool:
        try:
            return self._conversation.knows(session.id)
        except StoreUnavailable as error:
            log.error("store unavailable checking %s: %s", session.id, error)
            return False

    def _claim(self, message: SlackMessage) -> bool:
        keys = claim_keys(message)
        try:
            state = self._claims.claim(keys)
        except StoreUnavailable as error:
            # Answering twice on a retry is better than never answering during an outage.
            log.warning("claim store unavailable (%s); deduplicating in this process only", error)
            state = self._fallback_claims.claim(keys)
        if state is not ClaimState.CLAIMED:
            log.info("dropped duplicate delivery of %s (%s)", message.ts, state.value)
            return False
        return True

    def _complete(self, message: SlackMessage) -> None:
        keys = claim_keys(message)
        try:
            self._claims.complete(keys)
        except StoreUnavailable as error:
            log.warning("could not mark %s done: %s", message.ts, error)
            self._fallback_claims.complete(keys)

    def summarize(
        self, session: SessionKey, *, user_id: str, request_ts: str,
        client: WebClient, bot_user_id: str,
    ) -> bool:
        """Post a summary of the thread into it, reading the thread first if the bot was never
        in it. The request is remembered as the user's turn (never posted), so roles keep
        alternating and a follow-up like "shorter, please" knows what it refers to. False when
        there is nothing the bot can read (not in the channel, or an empty thread).
        """
        sink = self._sink(client, session, user_id=user_id)
        if not self._policy.allows(channel_id=session.channel_id, user_id=user_id):
            log.info("refused a summary for %s in %s: not in the allowlists",
                     user_id, session.channel_id)
            sink.fail(say.NOT_ALLOWED)
            return True
        thread = SlackThread(client, bot_user_id=bot_user_id, name_of=self._names.name_of)
        request = IncomingMessage(
            session=session, ts=request_ts, user_id=user_id, text=say.SUMMARY_REQUEST,
            user_name=self._names.name_of(user_id),
        )
        with self._conversation.turn_of(session.id, request_ts):
            try:
                if not self._conversation.knows(session.id) and not self._readable(thread, request):
                    return False
            except StoreUnavailable as error:
                log.error("store unavailable for %s: %s", session.id, error)
                sink.fail(say.STORE_DOWN)
                return True
            self._conversation.answer(request, sink, thread=thread)
        return True

    @staticmethod
    def _readable(thread: SlackThread, request: IncomingMessage) -> bool:
        try:
            return bool(thread.earlier_messages(request.session, before_ts=request.ts, after_ts=""))
        except ThreadUnreadable:
            return False

    def _sink(self, client: WebClient, session: SessionKey, *, user_id: str) -> SlackReplySink:
        return SlackReplySink(
            client,
            channel=session.channel_id,
            thread_ts=session.thread_ts,
            recipient_team_id=session.team_id,
            recipient_user_id=user_id,
            # Empty LOADING_MESSAGES means the built-in ones; one entry shows just that line.
            loading_messages=self._policy.loading_messages or say.LOADING_MESSAGES,
            status_text=say.STATUS_THINKING,
            feedback_labels=(say.FEEDBACK_POSITIVE, say.FEEDBACK_NEGATIVE),
            buffer_chars=self._policy.stream_buffer_chars,
            pacing=self._policy.pacing,
            update_interval=self._policy.update_interval_seconds,
            logger=log,
        )
