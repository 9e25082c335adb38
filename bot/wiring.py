"""The composition root: settings in, ready-to-use store, model and conversation out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from langchain_core.language_models import BaseChatModel

from bot import messages as say
from bot.config import ConfigError, Settings
from bot.core.conversation import Conversation
from bot.core.ports import MessageStore
from bot.core.summary import Summarizer
from bot.model.errors import (
    ModelFailure,
    classify_model_error,
    is_retryable,
    was_retried_by_client,
)
from bot.profiles import ChannelProfiles

if TYPE_CHECKING:
    from bot.files.attach import PromptFiles

_FAILURE_MESSAGES = {
    ModelFailure.BUSY: say.MODEL_BUSY,
    ModelFailure.ACCESS: say.MODEL_ACCESS,
    ModelFailure.NOT_FOUND: say.MODEL_NOT_FOUND,
    ModelFailure.TOO_LONG: say.MODEL_TOO_LONG,
}


class FriendlyModelFailures:
    """Words each model failure for users; never exception text, ARNs or tokens."""

    def message_for(self, error: BaseException) -> str:
        return _FAILURE_MESSAGES.get(classify_model_error(error), say.MODEL_FAILED)

    def should_retry(self, error: BaseException, *, stream_started: bool) -> bool:
        if not is_retryable(classify_model_error(error)):
            return False
        # Before the stream started, the SDK client has retried what it could already.
        return stream_started or not was_retried_by_client(error)


@dataclass
class Dependencies:
    settings: Settings
    store: MessageStore
    model: BaseChatModel
    conversation: Conversation
    profiles: ChannelProfiles
    # The thread's files in prompts (None without a Slack token: the console has no files).
    files: PromptFiles | None = None


def dynamodb_client(settings: Settings) -> Any:
    from bot.store.aws import make_dynamodb_client

    return make_dynamodb_client(
        region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url,
        pool_connections=settings.worker_threads,
    )


def build_store(settings: Settings) -> MessageStore:
    """DynamoDB when DYNAMODB_TABLE is set, else the embedded SQLite file."""
    if settings.dynamodb_table:
        from bot.store.dynamodb import DynamoDBMessageStore

        return DynamoDBMessageStore(
            dynamodb_client(settings), settings.dynamodb_table,
            ttl_seconds=settings.history_ttl_seconds,
            claim_ttl_seconds=settings.claim_ttl_seconds,
            takeover_seconds=settings.claim_takeover_seconds,
        )
    from bot.store.sqlite import SQLiteMessageStore

    return SQLiteMessageStore(
        settings.sqlite_path, ttl_seconds=settings.history_ttl_seconds,
        claim_ttl_seconds=settings.claim_ttl_seconds,
        takeover_seconds=settings.claim_takeover_seconds,
    )


def build_dependencies(settings: Settings, *, model: BaseChatModel | None = None) -> Dependencies:
    from bot.model.cache import build_cache_marker
    from bot.model.factory import build_chat_model
    from bot.model.per_channel import ChannelModels

    # First, so a bad CHANNEL_PROFILES_FILE stops start-up before anything is built.
    profiles = ChannelProfiles.from_settings(settings)
    store = build_store(settings)
    chat_model = model or build_chat_model(settings)
    models = ChannelModels(settings, chat_model)
    summarizer = None
    if settings.summaries:
        summarizer = Summarizer()  # each turn's model: MODEL_ID's, or its channel profile's
        if settings.summary_model_id:
            summary_model = chat_model
            if settings.summary_model_id != settings.resolved_model_id:
                summary_model = build_chat_model(
                    settings.model_copy(update={"model_id": settings.summary_model_id}))
            summarizer = Summarizer(summary_model, model_id=settings.summary_model_id)
    files = build_prompt_files(settings)
    conversation = Conversation(
        store=store,
        model=chat_model,
        system_prompt=settings.system_prompt,
        token_budget=settings.context_token_budget,
        failure_policy=FriendlyModelFailures(),
        stream_attempts=settings.model_max_attempts,
        log_prompts=settings.log_message_content,
        mark_cache=build_cache_marker(settings),
        profile_for=(lambda session: models.turn_profile(profiles.for_session(session)))
        if settings.channel_profiles_file else None,
        summarizer=summarizer,
        model_id=settings.resolved_model_id,
        attach_files=files,
    )
    return Dependencies(settings, store, chat_model, conversation, profiles, files)


def build_prompt_files(settings: Settings) -> PromptFiles | None:
    """Files fetched from Slack with the bot token, prepared for the provider, cached."""
    token = settings.secret("slack_bot_token")
    if not token:
        return None
    from bot.files.attach import PromptFiles
    from bot.files.cache import PreparedFiles
    from bot.files.limits import MB, PROVIDER_FILES, FileLimits
    from bot.model.attachments import RENDERERS
    from bot.slack.client import make_web_client
    from bot.slack.download import SafeDownloader, parse_hosts
    from bot.slack.files import SlackFiles

    client = make_web_client(token, settings.slack_api_url, timeout=settings.slack_timeout_seconds)
    downloader = SafeDownloader(token=token, hosts=parse_hosts(settings.slack_file_hosts),
                                timeout=settings.slack_timeout_seconds,
                                pool_size=min(settings.worker_threads, 32))
    return PromptFiles(
        source=SlackFiles(client, downloader),
        provider=PROVIDER_FILES[settings.model_provider],
        render=RENDERERS.get(settings.model_provider),
        cache=PreparedFiles(max_bytes=settings.file_cache_mb * MB),
        token_budget=settings.context_token_budget,
        limits=FileLimits(download_bytes=settings.file_download_max_mb * MB),
    )


def ready_dependencies(settings: Settings) -> Dependencies:
    """Dependencies for a bot about to take events: the table is checked first, so a missing
    or misshapen one stops start-up with one line (ConfigError) instead of failing every turn."""
    if settings.dynamodb_table:
        from bot.store.table import describe_table_problem

        problem = describe_table_problem(
            dynamodb_client(settings), settings.dynamodb_table, settings.aws_region
        )
        if problem:
            raise ConfigError(problem)
    return build_dependencies(settings)
