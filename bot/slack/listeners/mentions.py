"""@mentions in channels and threads: always addressed to the bot."""

from __future__ import annotations

from slack_bolt import App, BoltContext
from slack_sdk import WebClient

from bot.slack.events import parse_message
from bot.slack.listeners.acks import ack_at_once
from bot.slack.listeners.places import place_of
from bot.slack.turns import SlackTurns


def register(app: App, turns: SlackTurns) -> None:
    def answer_mention(body: dict, client: WebClient, context: BoltContext) -> None:
        message = parse_message(body)
        if message is not None:
            turns.handle(message, client=client, bot_user_id=context.bot_user_id or "",
                         addressed=True, reservation=place_of(context))

    app.event("app_mention")(ack=ack_at_once, lazy=[answer_mention])
