"""The AI-app surface (Slack's assistant pane), through Bolt's `Assistant` middleware.

Bolt's middleware runs before any listener and takes every DM message inside a thread without
passing it on, so thread replies in DMs reach the bot here and only here: the plain `message`
listener keeps top-level DMs. Both end in the same `SlackTurns.handle`, with the same session
id `{team}:{channel}:{thread_ts}` and the same store. Every listener acks at once and works in
a lazy function (a second invocation on AWS Lambda).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from contextlib import suppress

from slack_bolt import App, Assistant, BoltContext
from slack_bolt.context.get_thread_context import GetThreadContext
from slack_sdk import WebClient

from bot import messages as say
from bot.core.records import IncomingMessage, SessionKey
from bot.profiles import ChannelProfiles
from bot.slack.client import Refused, SlackCaller
from bot.slack.events import parse_message, team_of
from bot.slack.formatting import markdown_blocks, to_mrkdwn
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.places import place_of
from bot.slack.metadata import GREETING_EVENT_TYPE
from bot.slack.turns import SlackTurns

log = logging.getLogger(__name__)

MAX_SUGGESTED_PROMPTS = 4  # Slack shows at most four
TITLE_CHARS = 80


def title_for(question: str) -> str:
    """The thread's title in the pane's history: the first question on one short line."""
    line = " ".join(question.split())
    if len(line) <= TITLE_CHARS:
        return line
    cut = line.rfind(" ", 0, TITLE_CHARS)
    return line[: cut if cut > TITLE_CHARS // 2 else TITLE_CHARS].rstrip() + "…"


def register(
    app: App, turns: SlackTurns, *, greeting: str, suggested_prompts: Sequence[str],
    profiles: ChannelProfiles | None = None,
) -> None:
    assistant = Assistant(logger=log)
    prompts = [{"title": p, "message": p} for p in suggested_prompts[:MAX_SUGGESTED_PROMPTS]]

    def greet_new_thread(body: dict, event: dict, client: WebClient) -> None:
        thread = event.get("assistant_thread") or {}
        channel_id, thread_ts = thread.get("channel_id", ""), thread.get("thread_ts", "")
        if not channel_id or not thread_ts:
            return
        origin = (thread.get("context") or {}).get("channel_id")
        if profiles is not None and profiles.has_channels and origin:
            # Known at once, greeting or not (the greeting's metadata, which Bolt's context
            # store reads back, exists only when a greeting was posted).
            session = SessionKey(team_of(body, event), channel_id, thread_ts)
            profiles.remember_origin(session.id, str(origin))
        slack = SlackCaller(channel_id, log)
        try:
            if greeting:
                # The metadata tells backfill this message is not an answer (see backfill.py);
                # the payload is the thread's context, in the shape Bolt's context store reads.
                context = {k: v for k, v in (thread.get("context") or {}).items() if v}
                slack.call(
                    client.chat_postMessage, channel=channel_id, thread_ts=thread_ts,
                    text=to_mrkdwn(greeting), blocks=markdown_blocks(greeting),
                    metadata={"event_type": GREETING_EVENT_TYPE, "event_payload": context},
                )
            if prompts:
                slack.call(
                    client.assistant_threads_setSuggestedPrompts, channel_id=channel_id,
                    thread_ts=thread_ts, prompts=prompts, title=say.SUGGESTED_PROMPTS_TITLE,
                )
        except Refused as refusal:
            log.warning("could not greet in %s: %s", channel_id, refusal.explain())

    def answer_in_assistant_thread(
        body: dict, client: WebClient, context: BoltContext,
        get_thread_context: GetThreadContext | None = None,
    ) -> None:
        message = parse_message(body)
        if message is None:
            return
        if get_thread_context is not None:
            session = SessionKey(message.team_id, message.channel_id, message.session_thread_ts)
            remember_origin(session.id, get_thread_context)

        def set_title(question: IncomingMessage) -> None:
            # A DM thread outside the pane has no title to set; the refusal is logged.
            with suppress(Refused):
                SlackCaller(message.channel_id, log).call_quietly(
                    client.assistant_threads_setTitle, channel_id=message.channel_id,
                    thread_ts=message.session_thread_ts, title=title_for(question.text),
                )

        turns.handle(message, client=client, bot_user_id=context.bot_user_id or "",
                     addressed=True, on_new_session=set_title, reservation=place_of(context))

    def remember_origin(session_id: str, get_thread_context: GetThreadContext) -> None:
        """A thread opened from a channel follows that channel's profile: its context (kept in
        the greeting's metadata) names the channel; read once per thread and process."""
        if profiles is None or not profiles.has_channels or profiles.knows_origin(session_id):
            return
        try:
            thread_context = get_thread_context()
        except Exception as error:  # noqa: BLE001 - the profile is a refinement; answer anyway
            log.warning("could not read the assistant thread's context: %s", type(error).__name__)
            return
        channel = thread_context.get("channel_id") if thread_context else None
        if channel:
            profiles.remember_origin(session_id, str(channel))

    def ignore_context_change() -> None:
        # The bot does not use the channel the user is viewing. Bolt's default handler would
        # store it by editing the bot's first message in the thread, two Slack calls per move.
        return None

    assistant.thread_started(lazy=[greet_new_thread])(ack_at_once)
    assistant.user_message(lazy=[answer_in_assistant_thread])(ack_at_once)
    assistant.thread_context_changed(ignore_context_change)
    app.assistant(assistant)
