"""Messages: DMs to the bot, and follow-ups in channel threads the bot is part of."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.events import parse_message
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.places import place_of
from bot.slack.turns import SlackTurns, is_handled_here


def register(app: App, turns: SlackTurns) -> None:
    def answer_message(body: dict, client: WebClient, context: BoltContext) -> None:
        message = parse_message(body)
        bot_user_id = context.bot_user_id or ""
        if message is None or not is_handled_here(message, bot_user_id=bot_user_id,
                                                  via_mention=False):
            return  # a mention outside DMs is answered through its app_mention event
        turns.handle(message, client=client, bot_user_id=bot_user_id,
                     addressed=message.is_direct_message, reservation=place_of(context))

    app.event("message")(ack=ack_at_once, lazy=[answer_message])
