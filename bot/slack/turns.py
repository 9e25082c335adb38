"""From a Slack message to an answered turn: filter, claim once, decode, backfill, answer."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from slack_sdk import WebClient

from bot import messages as say
from bot.core.conversation import Conversation
from bot.core.ports import ClaimState, ClaimStore, MessageStore, StoreUnavailable
from bot.core.records import IncomingMessage, SessionKey, StoredMessage
from bot.slack.ack_first import AckFirst
from bot.slack.backfill import backfill_thread
from bot.slack.events import SlackMessage, ignore_reason
from bot.slack.pacing import SlackPacing
from bot.slack.reply import SlackReplySink
from bot.slack.text import decode_slack_text, says_something
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
    """An app_mention and the message event for the same message share the second key."""
    keys = [f"msg:{message.team_id}:{message.channel_id}:{message.ts}"]
    if message.event_id:
        keys.insert(0, f"event:{message.event_id}")
    return keys


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

    @property
    def store(self) -> MessageStore:
        return self._conversation.store

    def handle(
        self, message: SlackMessage, *, client: WebClient, bot_user_id: str, addressed: bool,
        on_new_session: Callable[[IncomingMessage], None] | None = None,
    ) -> None:
        """Answer (or just remember) one message. `addressed`: a mention or a DM; otherwise a
        reply in a channel thread, answered only when the bot is already part of that thread.
        `on_new_session` runs once the message is claimed, if its thread has no history yet
        (the assistant pane titles a thread after its first question).
        """
        reason = ignore_reason(message, bot_user_id=bot_user_id)
        if reason:
            log.debug("ignored %s in %s: %s", message.ts, message.channel_id, reason)
            return
        if self._ack_first is not None:
            self._ack_first.wait_for_turn()
        started = turn_clock()
        session = SessionKey(message.team_id, message.channel_id, message.session_thread_ts)
        # An unaddressed follow-up is only for the bot if it is part of the thread already.
        known_thread = not addressed
        if known_thread and not self._is_part_of(session):
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
        with timed_turn(session.id, since=started):
            try:
                self._run(message, session, sink=sink, client=client, bot_user_id=bot_user_id,
                          addressed=addressed, on_new_session=on_new_session,
                          known_thread=known_thread)
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
        on_new_session: Callable[[IncomingMessage], None] | None, known_thread: bool,
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
            user_name=self._names.name_of(message.user_id), event_id=message.event_id,
        )
        if not addressed and not self._policy.reply_without_mention_in_threads:
            try:
                self.store.append(session.id, [StoredMessage.human(
                    ts=message.ts, text=text, author_id=message.user_id,
                    author_name=incoming.user_name,
                )])
            except StoreUnavailable as error:
                log.error("store unavailable for %s: %s", session.id, error)
                sink.fail(say.STORE_DOWN)
            return
        first_turn = None
        if not known_thread and (message.is_in_thread or on_new_session is not None):

            def first_turn() -> None:
                if on_new_session is not None:
                    on_new_session(incoming)
                if message.is_in_thread:
                    backfill_thread(
                        client=client, store=self.store, session_id=session.id,
                        channel_id=message.channel_id, thread_ts=session.thread_ts,
                        before_ts=message.ts, bot_user_id=bot_user_id,
                        name_of=self._names.name_of,
                    )

        self._conversation.answer(incoming, sink, on_first_turn=first_turn)

    def _is_part_of(self, session: SessionKey) -> bool:
        try:
            return self.store.has_session(session.id)
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
        try:
            if not self.store.has_session(session.id):
                backfill_thread(
                    client=client, store=self.store, session_id=session.id,
                    channel_id=session.channel_id, thread_ts=session.thread_ts,
                    before_ts=request_ts, bot_user_id=bot_user_id, name_of=self._names.name_of,
                )
                if not self.store.has_session(session.id):
                    return False
        except StoreUnavailable as error:
            log.error("store unavailable for %s: %s", session.id, error)
            sink.fail(say.STORE_DOWN)
            return True
        request = IncomingMessage(
            session=session, ts=request_ts, user_id=user_id, text=say.SUMMARY_REQUEST,
            user_name=self._names.name_of(user_id),
        )
        self._conversation.answer(request, sink)
        return True

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

