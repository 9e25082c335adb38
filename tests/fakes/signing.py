"""Signed Slack requests and realistic event / interaction payloads, for driving the real app.

Slack signs each request: `v0=` + HMAC-SHA256(secret, "v0:{timestamp}:{body}") in
X-Slack-Signature, with X-Slack-Request-Timestamp. Bolt checks both, so tests sign for real.
Shapes follow ../shared/slack/shape-samples/events (AppMentionPayload.json, MessagePayload.json).

    status, body = post_event(url, event_callback(app_mention(text="hi")), secret)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import time
import urllib.error
import urllib.request
from typing import Any, TypedDict, Unpack
from urllib.parse import urlencode

from tests.fakes._clock import next_ts

BOT_USER_ID = "U_BOT"
_MENTION = re.compile(r"<@([A-Z0-9_]+)(?:\|[^>]*)?>")


def compute_signature(body: bytes, secret: str, timestamp: int) -> str:
    base = b"v0:" + str(timestamp).encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def signed_headers(
    body: bytes,
    secret: str,
    timestamp: int | None = None,
    *,
    content_type: str = "application/json",
) -> dict[str, str]:
    timestamp = int(time.time()) if timestamp is None else timestamp
    return {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(timestamp),
        "X-Slack-Signature": compute_signature(body, secret, timestamp),
    }


def post_signed(
    url: str,
    body: bytes,
    secret: str,
    *,
    content_type: str = "application/json",
    retry_num: int | None = None,
    retry_reason: str | None = None,
    timestamp: int | None = None,
    signature: str | None = None,
    timeout: float = 10,
) -> tuple[int, str]:
    """POST a body signed as Slack signs it; `signature` overrides the computed one."""
    headers = signed_headers(body, secret, timestamp, content_type=content_type)
    if signature is not None:
        headers["X-Slack-Signature"] = signature
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = retry_reason or "http_timeout"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read().decode("utf-8")
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode("utf-8")


class SendOptions(TypedDict, total=False):
    """post_signed's options that post_interaction passes on."""

    timestamp: int | None
    signature: str | None
    timeout: float


class EventSendOptions(SendOptions, total=False):
    """post_signed's options that post_event passes on: also Slack's retry headers."""

    retry_num: int | None
    retry_reason: str | None


def post_event(
    url: str, payload: dict[str, Any], secret: str, **options: Unpack[EventSendOptions]
) -> tuple[int, str]:
    """POST an Events API payload (JSON), signed; returns (HTTP status, body text)."""
    return post_signed(url, json.dumps(payload).encode("utf-8"), secret, **options)


def interaction_body(payload: dict[str, Any]) -> bytes:
    """Interactivity requests are form-encoded with the JSON in one `payload` field."""
    return urlencode({"payload": json.dumps(payload)}).encode("utf-8")


def post_interaction(
    url: str, payload: dict[str, Any], secret: str, **options: Unpack[SendOptions]
) -> tuple[int, str]:
    """POST a block_actions / message_action payload form-encoded and signed, like Slack."""
    content_type = "application/x-www-form-urlencoded"
    return post_signed(url, interaction_body(payload), secret, content_type=content_type, **options)


# --- envelopes and events ------------------------------------------------------------------


def new_event_id() -> str:
    return "Ev" + secrets.token_hex(5).upper()


def url_verification(challenge: str = "challenge-token") -> dict[str, Any]:
    return {"token": "legacy-verification-token", "challenge": challenge, "type": "url_verification"}


def event_callback(
    event: dict[str, Any],
    *,
    team_id: str = "T1",
    event_id: str | None = None,
    api_app_id: str = "A1",
    bot_user_id: str = BOT_USER_ID,
    event_time: int | None = None,
) -> dict[str, Any]:
    """The Events API envelope around `event`, with a fresh event_id unless one is given."""
    return {
        "token": "legacy-verification-token",
        "team_id": team_id,
        "context_team_id": team_id,
        "context_enterprise_id": None,
        "api_app_id": api_app_id,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or new_event_id(),
        "event_time": int(time.time()) if event_time is None else event_time,
        "authorizations": [
            {
                "enterprise_id": None,
                "team_id": team_id,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
        "is_ext_shared_channel": False,
        "event_context": "4-" + secrets.token_urlsafe(24),
    }


def rich_text_blocks(text: str) -> list[dict[str, Any]]:
    """The rich_text block Slack's client attaches to a typed message, mentions as user parts."""
    elements: list[dict[str, Any]] = []
    position = 0
    for match in _MENTION.finditer(text):
        if match.start() > position:
            elements.append({"type": "text", "text": text[position : match.start()]})
        elements.append({"type": "user", "user_id": match.group(1)})
        position = match.end()
    if position < len(text):
        elements.append({"type": "text", "text": text[position:]})
    section = {"type": "rich_text_section", "elements": elements}
    block_id = secrets.token_urlsafe(4)[:5]
    return [{"type": "rich_text", "block_id": block_id, "elements": [section]}]


def channel_type_of(channel: str) -> str:
    return {"D": "im", "G": "group"}.get(channel[:1], "channel")


def message(
    *,
    text: str = "hello",
    user: str | None = "U1",
    channel: str = "D1",
    ts: str | None = None,
    thread_ts: str | None = None,
    channel_type: str | None = None,
    subtype: str | None = None,
    bot_id: str | None = None,
    team: str = "T1",
    parent_user_id: str | None = None,
    blocks: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """A `message` event (DM by default). A bot's message carries bot_id/app_id, no client id."""
    ts = ts or next_ts()
    event: dict[str, Any] = {"type": "message", "text": text, "ts": ts, "team": team}
    if user is not None:
        event["user"] = user
    if bot_id is None:
        event["client_msg_id"] = secrets.token_hex(16)
    else:
        event |= {
            "bot_id": bot_id,
            "app_id": f"A_{bot_id}",
            "bot_profile": {
                "id": bot_id,
                "deleted": False,
                "name": f"bot-{bot_id.lower()}",
                "updated": 1700000000,
                "app_id": f"A_{bot_id}",
                "icons": {"image_36": "https://a.slack-edge.com/36.png"},
                "team_id": team,
            },
        }
    if subtype is not None:
        event["subtype"] = subtype
    event["blocks"] = rich_text_blocks(text) if blocks is None else blocks
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
        if thread_ts != ts:
            event["parent_user_id"] = parent_user_id or "U1"
    event |= {
        "channel": channel,
        "event_ts": ts,
        "channel_type": channel_type or channel_type_of(channel),
    }
    return event | extra


def app_mention(
    *,
    text: str = "hello",
    user: str = "U1",
    channel: str = "C1",
    ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
    bot_user_id: str = BOT_USER_ID,
    blocks: list[dict[str, Any]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """An `app_mention` event; `<@U_BOT> ` is put in front unless the text mentions the bot."""
    ts = ts or next_ts()
    if f"<@{bot_user_id}>" not in text:
        text = f"<@{bot_user_id}> {text}"
    event: dict[str, Any] = {
        "user": user,
        "type": "app_mention",
        "ts": ts,
        "client_msg_id": secrets.token_hex(16),
        "text": text,
        "team": team,
        "blocks": rich_text_blocks(text) if blocks is None else blocks,
        "channel": channel,
        "event_ts": ts,
    }
    if thread_ts is not None:
        event["thread_ts"] = thread_ts
    return event | extra


def message_changed(
    *, channel: str = "C1", ts: str, text: str, previous_text: str = "", user: str = "U1",
    thread_ts: str | None = None, edited_ts: str | None = None, subtype: str | None = None,
) -> dict[str, Any]:
    """An edit: Slack sends the new message nested, with subtype message_changed. A thread
    root deleted while it has replies arrives this way too, as `subtype="tombstone"`."""
    event_ts = next_ts()
    after: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts,
                             "edited": {"user": user, "ts": edited_ts or event_ts}}
    before: dict[str, Any] = {"type": "message", "user": user, "text": previous_text, "ts": ts}
    if subtype is not None:
        after = {"type": "message", "subtype": subtype, "text": "This message was deleted.",
                 "ts": ts, "hidden": True}
    for shown in (after, before):
        if thread_ts is not None:
            shown["thread_ts"] = thread_ts
    return {
        "type": "message",
        "subtype": "message_changed",
        "message": after,
        "previous_message": before,
        "channel": channel,
        "hidden": True,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type_of(channel),
    }


def message_deleted(
    *, channel: str = "C1", ts: str, text: str = "", user: str = "U1",
    thread_ts: str | None = None, bot_id: str | None = None,
) -> dict[str, Any]:
    """A deletion: the message's last state comes along as previous_message."""
    event_ts = next_ts()
    before: dict[str, Any] = {"type": "message", "user": user, "text": text, "ts": ts}
    if thread_ts is not None:
        before["thread_ts"] = thread_ts
    if bot_id is not None:
        before["bot_id"] = bot_id
    return {
        "type": "message",
        "subtype": "message_deleted",
        "hidden": True,
        "deleted_ts": ts,
        "previous_message": before,
        "channel": channel,
        "ts": event_ts,
        "event_ts": event_ts,
        "channel_type": channel_type_of(channel),
    }


def assistant_thread_started(
    *,
    user: str = "U1",
    channel: str = "D1",
    thread_ts: str | None = None,
    context_channel: str | None = None,
    team: str = "T1",
) -> dict[str, Any]:
    """The event Slack sends when a user opens a new thread in the AI-app (assistant) pane."""
    thread_ts = thread_ts or next_ts()
    context: dict[str, Any] = {"team_id": team, "enterprise_id": None}
    if context_channel:
        context["channel_id"] = context_channel
    return {
        "type": "assistant_thread_started",
        "assistant_thread": {
            "user_id": user,
            "context": context,
            "channel_id": channel,
            "thread_ts": thread_ts,
        },
        "event_ts": next_ts(),
    }


# --- interactivity -------------------------------------------------------------------------


def _interaction(kind: str, *, user: str, channel: str, team: str) -> dict[str, Any]:
    """The fields every interaction payload carries: who acted where, and a fresh trigger."""
    return {
        "type": kind,
        "token": "legacy-verification-token",
        "team": {"id": team, "domain": team.lower()},
        "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": team},
        "channel": {"id": channel, "name": f"channel-{channel.lower()}"},
        "is_enterprise_install": False,
        "enterprise": None,
        "trigger_id": f"{int(time.time())}.{secrets.randbelow(10**12)}.{secrets.token_hex(16)}",
    }


def block_action(
    *,
    action_id: str,
    value: str | None = None,
    user: str = "U1",
    channel: str = "C1",
    message_ts: str | None = None,
    thread_ts: str | None = None,
    block_id: str = "actions",
    message: dict[str, Any] | None = None,
    team: str = "T1",
    api_app_id: str = "A1",
) -> dict[str, Any]:
    """A block_actions payload for a button click on a bot message (send with post_interaction)."""
    message_ts = message_ts or next_ts()
    container: dict[str, Any] = {
        "type": "message",
        "message_ts": message_ts,
        "channel_id": channel,
        "is_ephemeral": False,
    }
    if thread_ts:
        container["thread_ts"] = thread_ts
    action: dict[str, Any] = {
        "action_id": action_id,
        "block_id": block_id,
        "text": {"type": "plain_text", "text": action_id, "emoji": True},
        "type": "button",
        "action_ts": f"{time.time():.6f}",
    }
    if value is not None:
        action["value"] = value
    shown = message or {"type": "message", "user": BOT_USER_ID, "ts": message_ts, "text": ""}
    return _interaction("block_actions", user=user, channel=channel, team=team) | {
        "api_app_id": api_app_id,
        "container": container,
        "message": shown,
        "state": {"values": {}},
        "response_url": f"https://hooks.slack.com/actions/{team}/1/{secrets.token_hex(12)}",
        "actions": [action],
    }


def message_shortcut(
    *,
    callback_id: str,
    message_text: str = "hello",
    message_user: str = "U1",
    user: str = "U1",
    channel: str = "C1",
    message_ts: str | None = None,
    thread_ts: str | None = None,
    team: str = "T1",
) -> dict[str, Any]:
    """A message_action payload: a user chose the app's shortcut on a message."""
    message_ts = message_ts or next_ts()
    shown: dict[str, Any] = {
        "type": "message",
        "user": message_user,
        "ts": message_ts,
        "text": message_text,
        "client_msg_id": secrets.token_hex(16),
        "team": team,
        "blocks": rich_text_blocks(message_text),
    }
    if thread_ts:
        shown["thread_ts"] = thread_ts
    return _interaction("message_action", user=user, channel=channel, team=team) | {
        "action_ts": f"{time.time():.6f}",
        "callback_id": callback_id,
        "response_url": f"https://hooks.slack.com/app/{team}/1/{secrets.token_hex(12)}",
        "message_ts": message_ts,
        "message": shown,
    }
