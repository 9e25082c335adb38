"""From a Slack message to an answered turn: filter, claim once, decode, answer, in thread order.

Every message event takes its place in its thread's queue while Slack's request is still being
acknowledged (`reserve`), so a thread's messages are handled in the order they reached the
bot; edits and deletions of remembered messages go through the same queue (`mirror`).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from cachetools import TTLCache
from slack_sdk import WebClient

from bot import messages as say
from bot.core.caps import DailyTokenCaps
from bot.core.conversation import Conversation, ThreadUnreadable
from bot.core.ports import ClaimState, StoreUnavailable
from bot.core.records import IncomingMessage, SessionKey, sort_key
from bot.core.serial import Answer
from bot.slack.backfill import SlackThread
from bot.slack.decide import Action, Decision, TurnPolicy, decide
from bot.slack.events import (
    MessageDeletion,
    MessageEdit,
    SlackMessage,
    ignore_reason,
    parse_change,
    parse_message,
)
from bot.slack.files import complete_refs, refs_of
from bot.slack.payload import mapping_of
from bot.slack.rate import PersonalRateLimit
from bot.slack.reply import SlackReplySink
from bot.slack.sessions import AgentSessions
from bot.slack.stop import RunningAnswers
from bot.slack.text import decode_slack_text, mentions_user
from bot.slack.timing import TurnClock, timed_turn
from bot.slack.users import UserNames

log = logging.getLogger(__name__)


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
        policy: TurnPolicy,
        user_names: UserNames,
        sessions: AgentSessions | None = None,
        running: RunningAnswers | None = None,
        caps: DailyTokenCaps | None = None,
    ) -> None:
        self._conversation = conversation
        self._policy = policy
        self._names = user_names
        self._sessions = sessions
        self._running = running or RunningAnswers()
        self._caps = caps or DailyTokenCaps(conversation.store)
        self._rate = PersonalRateLimit(policy.rate_limit_per_minute)
        self._told_store_down: TTLCache[tuple[str, str], bool] = TTLCache(
            maxsize=10_000, ttl=3600
        )

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
        started = TurnClock()
        session = SessionKey(message.team_id, message.channel_id, message.session_thread_ts)

        def take_in() -> Answer | None:
            with started.counting():  # on whichever thread takes the thread's messages in
                return self._take_in(message, session, client=client, bot_user_id=bot_user_id,
                                     addressed=addressed, on_new_session=on_new_session,
                                     started=started)

        self._conversation.in_order(session.id, message.ts, take_in, reservation=reservation)

    def _take_in(
        self, message: SlackMessage, session: SessionKey, *, client: WebClient, bot_user_id: str,
        addressed: bool, on_new_session: Callable[[IncomingMessage], None] | None,
        started: TurnClock,
    ) -> Answer | None:
        """Decide, decode and claim; notices are posted here, answers are written afterwards by
        the thread's answering worker (SlackAnswer)."""
        decision = decide(message, bot_user_id=bot_user_id, addressed=addressed,
                          policy=self._policy, bot_is_in_thread=lambda: self._is_part_of(session))
        if decision.action is Action.IGNORE:
            log.debug("ignored %s in %s: %s", message.ts, message.channel_id, decision.reason)
            return None
        slow_down = False
        if decision.action is Action.ANSWER:
            admitted, slow_down = self._rate.admit(message.user_id)
            if not admitted:
                log.info("%s is over RATE_LIMIT_PER_MINUTE: %s remembered, not answered",
                         message.user_id, message.ts)
                decision = Decision(Action.REMEMBER, "over the rate limit")
        over_cap = ""
        if decision.action is Action.ANSWER:
            over_cap = self._over_daily_cap(message.user_id, session)
            if over_cap:
                decision = Decision(Action.REMEMBER, "over the daily token cap")
        sink = self._sink(client, session, user_id=message.user_id,
                          user_team=message.user_team or session.team_id)
        if decision.action is Action.ANSWER:
            # The status goes up before the claim, a DynamoDB write that queues when many
            # events arrive at once: the status is what the person is waiting to see.
            sink.show_status()
        claimed = False
        try:
            incoming = self._read(message, session, bot_user_id=bot_user_id, client=client)
            if not self._claim(incoming, decision, sink):
                # A duplicate delivery: the first one shows its own status, or has answered.
                sink.withdraw_status()
                return None
            claimed = True
            if slow_down:
                sink.tell_privately(incoming.user_id, say.SLOW_DOWN)
            if over_cap:
                sink.tell_privately(incoming.user_id, over_cap)
            if decision.action is Action.REFUSE:
                log.info("refused %s in %s: %s", incoming.user_id, session.id, decision.reason)
                sink.tell_privately(incoming.user_id, say.NOT_ALLOWED)
            elif decision.action is Action.ASK_FOR_TEXT:
                sink.fail(say.EMPTY_MESSAGE)
            elif decision.action is Action.ANSWER:
                thread = SlackThread(client, bot_user_id=bot_user_id, names=self._names)
                return SlackAnswer(self._conversation, incoming, sink, thread=thread,
                                   on_new_thread=on_new_session, started=started,
                                   sessions=self._sessions, running=self._running)
            return None
        except Exception as error:  # noqa: BLE001 - a message never ends in silence
            log.error("taking in %s in %s failed: %s", message.ts, session.id,
                      type(error).__name__, exc_info=error)
            try:
                if decision.action is Action.ANSWER:  # its status is up: a line ends it
                    sink.fail(say.MODEL_FAILED)
            finally:
                if claimed:  # a delivery still to come may answer it
                    self._conversation.release(incoming)
            return None

    def _over_daily_cap(self, user_id: str, session: SessionKey) -> str:
        """The line telling the person they are capped for today, or "" when they are not."""
        limit = self._policy.daily_cap(user_id=user_id, session=session)
        if not limit:
            return ""
        check = self._caps.check(user_id, limit=limit)
        if not check.is_over:
            return ""
        log.info("%s is over the daily token cap (%d of %d): %s remembered, not answered",
                 user_id, check.used, limit, session.id)
        left = max(0, int(check.resets_at - time.time()))
        return say.daily_cap_reached(limit, hours=left // 3600, minutes=left % 3600 // 60)

    def _read(self, message: SlackMessage, session: SessionKey, *, bot_user_id: str,
              client: WebClient) -> IncomingMessage:
        """The message as the core takes it: text decoded, author named, files referenced."""
        self._names.remember(message.user_id, message.user_name)
        return IncomingMessage(
            session=session, ts=message.ts, user_id=message.user_id,
            text=self._decode(message.text, bot_user_id=bot_user_id),
            user_name=self._names.name_of(message.user_id),
            files=complete_refs(client, refs_of(list(message.files), session), session),
        )

    def _decode(self, text: str, *, bot_user_id: str) -> str:
        """A person's text as the model reads it; the names of at most LOOKUPS_PER_MESSAGE
        mentioned people are looked up, the rest shown as ids."""
        return decode_slack_text(text, bot_user_id=bot_user_id,
                                 name_of=self._names.for_one_message())

    def _claim(self, incoming: IncomingMessage, decision: Decision, sink: SlackReplySink) -> bool:
        try:
            state = self._conversation.claim(
                incoming, remember=decision.remembers, done=decision.action is not Action.ANSWER
            )
        except StoreUnavailable as error:
            # Nothing can be stored: say so once per message, however often Slack retries it.
            log.error("store unavailable for %s: %s", incoming.session.id, error)
            key = (incoming.session.id, incoming.ts)
            if key not in self._told_store_down:
                self._told_store_down[key] = True
                sink.fail(say.STORE_DOWN)
            return False
        if state is not ClaimState.CLAIMED:
            log.info("dropped duplicate delivery of %s (%s)", incoming.ts, state.value)
            return False
        return True

    def mirror(self, body: Mapping[str, Any], *, bot_user_id: str,
               reservation: int | None = None) -> None:
        """Apply an edit or a deletion to the thread's memory; never answer it."""
        try:
            change = parse_change(body)
            if change is None:
                return
            session = SessionKey(change.team_id, change.channel_id, change.thread_ts)

            def take_in() -> None:
                try:
                    self._apply(change, session, bot_user_id=bot_user_id)
                except StoreUnavailable as error:
                    log.error("could not mirror a change in %s: %s", session.id, error)

            self._conversation.in_order(session.id, change.ts, take_in, reservation=reservation)
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
        text = self._decode(change.text, bot_user_id=bot_user_id)
        if self._conversation.apply_edit(session.id, change.ts, text=text,
                                         edited_ts=change.edited_ts):
            log.info("applied an edit of %s in %s", change.ts, session.id)

    def _is_part_of(self, session: SessionKey) -> bool:
        try:
            return self._conversation.knows(session.id)
        except StoreUnavailable as error:
            log.error("store unavailable checking %s: %s", session.id, error)
            return False

    def summarize(
        self, session: SessionKey, *, user_id: str, user_team: str, request_ts: str,
        client: WebClient, bot_user_id: str,
    ) -> bool:
        """Post a summary of the thread into it, reading the thread first if the bot was never
        in it. The request is remembered as the user's turn (never posted), so roles keep
        alternating and a follow-up like "shorter, please" knows what it refers to. False when
        there is nothing the bot can read (not in the channel, or an empty thread).
        """
        sink = self._sink(client, session, user_id=user_id, user_team=user_team)
        if not self._policy.allows(channel_id=session.channel_id, user_id=user_id,
                                   session=session):
            log.info("refused a summary for %s in %s: not in the allowlists",
                     user_id, session.channel_id)
            sink.tell_privately(user_id, say.NOT_ALLOWED)
            return True
        over_cap = self._over_daily_cap(user_id, session)
        if over_cap:
            sink.tell_privately(user_id, over_cap)
            return True
        thread = SlackThread(client, bot_user_id=bot_user_id, names=self._names)
        request = IncomingMessage(
            session=session, ts=request_ts, user_id=user_id, text=say.SUMMARY_REQUEST,
            user_name=self._names.name_of(user_id),
        )
        started = TurnClock()

        def take_in() -> Answer | None:
            with started.counting():
                try:
                    if not self._conversation.knows(session.id) and not self._readable(thread, request):
                        readable.append(False)
                        return None
                    claimed = self._conversation.claim(request) is ClaimState.CLAIMED
                except StoreUnavailable as error:
                    log.error("store unavailable for %s: %s", session.id, error)
                    sink.fail(say.STORE_DOWN)
                    return None
                if not claimed:
                    return None
                return SlackAnswer(self._conversation, request, sink, thread=thread,
                                   started=started, sessions=self._sessions,
                                   running=self._running)

        readable: list[bool] = []
        self._conversation.in_order(session.id, request_ts, take_in)
        return not readable

    @staticmethod
    def _readable(thread: SlackThread, request: IncomingMessage) -> bool:
        try:
            return bool(thread.earlier_messages(request.session, before_ts=request.ts, after_ts=""))
        except ThreadUnreadable:
            return False

    def _sink(self, client: WebClient, session: SessionKey, *, user_id: str,
              user_team: str) -> SlackReplySink:
        return SlackReplySink(
            client,
            channel=session.channel_id,
            thread_ts=session.thread_ts,
            recipient_team_id=user_team,
            recipient_user_id=user_id,
            # Empty LOADING_MESSAGES means the built-in ones; one entry shows just that line.
            loading_messages=self._policy.loading_messages or say.LOADING_MESSAGES,
            buffer_chars=self._policy.stream_buffer_chars,
            pacing=self._policy.pacing,
            update_interval=self._policy.update_interval_seconds,
            logger=log,
        )


class SlackAnswer:
    """A claimed message to answer, with the sink that shows it; run by the thread's
    answering worker, with the thread's other follow-ups of the moment `folded` into it."""

    def __init__(
        self, conversation: Conversation, incoming: IncomingMessage, sink: SlackReplySink, *,
        thread: SlackThread, started: TurnClock,
        on_new_thread: Callable[[IncomingMessage], None] | None = None,
        sessions: AgentSessions | None = None, running: RunningAnswers | None = None,
    ) -> None:
        self.order = sort_key(incoming.ts)
        self.incoming = incoming
        self._conversation = conversation
        self._sink = sink
        self._thread = thread
        self._on_new_thread = on_new_thread
        self._started = started
        self._sessions = sessions
        self._running = running or RunningAnswers()

    def run(self, folded: Sequence[Answer]) -> None:
        session_id = self.incoming.session.id
        after: Callable[[], None] | None = None
        failed = False
        with timed_turn(session_id, since=self._started):
            try:
                with self._running.running(session_id) as stop, self._agent_session():
                    self._sink.on_stopped_by_slack = stop.set
                    after = self._conversation.answer(
                        self.incoming, self._sink, thread=self._thread,
                        on_new_thread=self._on_new_thread, stop=stop)
            except Exception as error:  # noqa: BLE001 - a turn never ends in silence
                log.error("turn for %s in %s failed: %s", self.incoming.ts, session_id,
                          type(error).__name__, exc_info=error)
                failed = True
                try:
                    self._sink.fail(say.MODEL_FAILED)
                finally:
                    self._conversation.release(self.incoming)
        for earlier in folded:
            if isinstance(earlier, SlackAnswer):
                # A failed turn answered none of them: a delivery still to come may.
                if failed:
                    earlier.release()
                else:
                    earlier.answered_together()
        if folded:
            log.info("answered %d follow-ups of %s in one turn", len(folded) + 1, session_id)
        if after is not None:
            # With the agent session back to active and the claims done, still before the
            # thread's next message: a summary for the next turn, if one is due.
            after()

    def _agent_session(self) -> AbstractContextManager[None]:
        """`processing` while answering, so Slack shows its Stop button (bot/slack/sessions.py)."""
        if self._sessions is None:
            return nullcontext()
        session = self.incoming.session
        return self._sessions.processing(team_id=session.team_id, channel=session.channel_id,
                                         thread_ts=session.thread_ts)

    def release(self) -> None:
        self._conversation.release(self.incoming)

    def answered_together(self) -> None:
        """Answered by a later message's answer: this claim is done too."""
        try:
            self._conversation.finish(self.incoming)
        except StoreUnavailable as error:
            log.warning("could not mark %s done: %s", self.incoming.ts, error)
