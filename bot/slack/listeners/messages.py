"""Messages: DMs to the bot, and follow-ups in channel threads the bot is part of."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.events import parse_message
from bot.slack.listeners.acks import ack_at_once
from bot.slack.text import mentions_user
from bot.slack.turns import SlackTurns


def register(app: App, turns: SlackTurns) -> None:
    def answer_message(body: dict, client: WebClient, context: BoltContext) -> None:
        message = parse_message(body)
        if message is None:
            return
        bot_user_id = context.bot_user_id or ""
        if message.is_direct_message:
            turns.handle(message, client=client, bot_user_id=bot_user_id, addressed=True)
        elif message.is_in_thread and not mentions_user(message.text, bot_user_id):
            # A mention is answered through its app_mention event.
            turns.handle(message, client=client, bot_user_id=bot_user_id, addressed=False)

    app.event("message")(ack=ack_at_once, lazy=[answer_message])
