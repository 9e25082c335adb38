"""The "Summarize this thread" message shortcut: a summary of the thread, posted into it."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from slack_bolt import App, BoltContext, Respond
from slack_sdk import WebClient

from bot import messages as say
from bot.core.records import SessionKey, synthetic_ts
from bot.slack.events import team_of_interaction
from bot.slack.listeners.acks import ack_at_once
from bot.slack.payload import mapping_of, text_of
from bot.slack.turns import SlackTurns

log = logging.getLogger(__name__)

SUMMARIZE_CALLBACK_ID = "summarize_thread"  # manifest.yml: features.shortcuts


@dataclass(frozen=True)
class SummaryRequest:
    session: SessionKey
    user_id: str
    user_team: str  # the asker's workspace: a summary is streamed to them
    request_ts: str



def parse_summary_request(body: Mapping[str, Any]) -> SummaryRequest | None:
    """Read a message_action payload; the thread is the chosen message's thread (or the thread
    it starts). The action's ts orders the request after everything already in the thread."""
    message = mapping_of(body.get("message"))
    user = mapping_of(body.get("user"))
    team_id = team_of_interaction(body)
    channel_id = text_of(mapping_of(body.get("channel")).get("id"))
    message_ts = text_of(body.get("message_ts")) or text_of(message.get("ts"))
    thread_ts = text_of(message.get("thread_ts")) or message_ts
    user_id = text_of(user.get("id"))
    if not (team_id and channel_id and thread_ts and user_id):
        return None
    return SummaryRequest(
        session=SessionKey(team_id, channel_id, thread_ts),
        user_id=user_id,
        user_team=text_of(user.get("team_id")) or team_id,
        request_ts=text_of(body.get("action_ts")) or synthetic_ts(),
    )


def register(app: App, turns: SlackTurns) -> None:
    def summarize_thread(
        body: dict, client: WebClient, context: BoltContext, respond: Respond
    ) -> None:
        request = parse_summary_request(body)
        if request is None:
            log.warning("summarize_thread shortcut without a channel, message or user; ignored")
            return
        summarized = turns.summarize(
            request.session, user_id=request.user_id, user_team=request.user_team,
            request_ts=request.request_ts,
            client=client, bot_user_id=context.bot_user_id or "",
        )
        if not summarized:
            # The bot cannot post where it cannot read: tell only the person who asked.
            try:
                respond(text=say.CANNOT_READ_THREAD, response_type="ephemeral",
                        replace_original=False)
            except Exception as error:  # noqa: BLE001 - a courtesy message; never fail the turn
                log.warning("could not tell %s the thread is unreadable: %s",
                            request.user_id, type(error).__name__)

    app.message_shortcut(SUMMARIZE_CALLBACK_ID)(ack=ack_at_once, lazy=[summarize_thread])
