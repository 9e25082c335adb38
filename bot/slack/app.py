"""Build the Bolt app: one function, a fresh app per call (tests build many)."""

from __future__ import annotations

import logging

from slack_bolt import App
from slack_bolt.error import BoltError

from bot.config import ConfigError
from bot.slack.client import make_web_client
from bot.slack.decide import TurnPolicy
from bot.slack.executor import ListenerExecutor
from bot.slack.listeners import (
    assistant,
    changes,
    feedback,
    files,
    mentions,
    messages,
    other_events,
    places,
    shortcuts,
    stops,
)
from bot.slack.sessions import AgentSessions
from bot.slack.stop import RunningAnswers
from bot.slack.turns import SlackTurns
from bot.slack.users import UserNames
from bot.wiring import Dependencies

log = logging.getLogger(__name__)


def create_app(deps: Dependencies, *, process_before_response: bool = False) -> App:
    """The Slack app with every listener registered.

    `process_before_response=True` is for AWS Lambda, where work after the HTTP response is
    frozen: lazy listeners then run in a second invocation. Elsewhere listeners run on a
    sized pool so a slow model never delays acknowledging other events.
    """
    settings = deps.settings
    settings.require("slack_bot_token")
    client = make_web_client(settings.secret("slack_bot_token") or "", settings.slack_api_url,
                             timeout=settings.slack_timeout_seconds)
    try:
        app = App(
            client=client,
            signing_secret=settings.secret("slack_signing_secret") or "",
            process_before_response=process_before_response,
            # auth.test runs here, once: the bot user id is known before the first event.
            token_verification_enabled=True,
            # The bot's own messages are never answered by our rules (events.ignore_reason);
            # Bolt's would also drop the deletion of an answer, which memory must mirror.
            ignoring_self_events_enabled=False,
            listener_executor=ListenerExecutor(settings.worker_threads),
        )
    except BoltError as error:
        raise ConfigError(
            "SLACK_BOT_TOKEN was refused by Slack (auth.test failed): set a valid "
            "Bot User OAuth Token (xoxb-...)"
        ) from error
    running = RunningAnswers()
    turns = SlackTurns(
        conversation=deps.conversation,
        policy=TurnPolicy(
            allowed_channel_ids=settings.allowed_channel_ids,
            allowed_user_ids=settings.allowed_user_ids,
            reply_without_mention_in_threads=settings.reply_without_mention_in_threads,
            loading_messages=settings.loading_messages,
            stream_buffer_chars=settings.stream_buffer_chars,
            update_interval_seconds=settings.update_interval_seconds,
            rate_limit_per_minute=settings.rate_limit_per_minute,
            profiles=deps.profiles if settings.channel_profiles_file else None,
            daily_tokens_per_user=settings.daily_tokens_per_user,
            admin_user_ids=settings.admin_user_ids,
        ),
        user_names=UserNames(client),
        sessions=AgentSessions(client, enabled=settings.agent_sessions),
        running=running,
    )
    if not process_before_response:  # on Lambda the turn runs in another invocation
        places.register(app, turns)
    changes.register(app, turns, files=deps.files)  # before the assistant middleware, which would drop them
    mentions.register(app, turns)
    messages.register(app, turns)
    assistant.register(app, turns, greeting=settings.assistant_greeting,
                       suggested_prompts=settings.suggested_prompts,
                       profiles=deps.profiles if settings.channel_profiles_file else None)
    feedback.register(app)
    shortcuts.register(app, turns)
    stops.register(app, running)
    files.register(app, deps.files)
    other_events.register(app)
    return app
