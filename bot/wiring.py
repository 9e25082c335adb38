"""The composition root: settings in, ready-to-use store, claims, model and conversation out."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langchain_core.language_models import BaseChatModel

from bot import messages as say
from bot.config import Settings
from bot.core.conversation import Conversation
from bot.core.ports import ClaimStore, MessageStore
from bot.model.errors import (
    ModelFailure,
    classify_model_error,
    is_retryable,
    was_retried_by_client,
)

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
    claims: ClaimStore
    model: BaseChatModel
    conversation: Conversation


def dynamodb_client(settings: Settings) -> Any:
    from bot.store.aws import make_dynamodb_client

    return make_dynamodb_client(
        region=settings.aws_region, endpoint_url=settings.dynamodb_endpoint_url
    )


def build_store_and_claims(settings: Settings) -> tuple[MessageStore, ClaimStore]:
    """DynamoDB when DYNAMODB_TABLE is set, else the embedded SQLite file."""
    if settings.dynamodb_table:
        from bot.store.claims import DynamoDBClaimStore
        from bot.store.dynamodb import DynamoDBMessageStore

        client = dynamodb_client(settings)
        store: MessageStore = DynamoDBMessageStore(
            client, settings.dynamodb_table, ttl_seconds=settings.history_ttl_seconds
        )
        claims: ClaimStore = DynamoDBClaimStore(
            client, settings.dynamodb_table,
            ttl_seconds=settings.claim_ttl_seconds,
            takeover_seconds=settings.claim_takeover_seconds,
        )
        return store, claims
    from bot.store.claims import SQLiteClaimStore
    from bot.store.sqlite import SQLiteMessageStore

    store = SQLiteMessageStore(settings.sqlite_path, ttl_seconds=settings.history_ttl_seconds)
    claims = SQLiteClaimStore(
        settings.sqlite_path,
        ttl_seconds=settings.claim_ttl_seconds,
        takeover_seconds=settings.claim_takeover_seconds,
    )
    return store, claims


def build_dependencies(settings: Settings, *, model: BaseChatModel | None = None) -> Dependencies:
    from bot.model.factory import build_chat_model

    store, claims = build_store_and_claims(settings)
    chat_model = model or build_chat_model(settings)
    conversation = Conversation(
        store=store,
        model=chat_model,
        system_prompt=settings.system_prompt,
        token_budget=settings.context_token_budget,
        failure_policy=FriendlyModelFailures(),
        stream_attempts=settings.model_max_attempts,
        log_prompts=settings.log_message_content,
    )
    return Dependencies(settings, store, claims, chat_model, conversation)
