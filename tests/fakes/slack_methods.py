"""The Slack Web API methods the fake answers, one function each: (fake, params) -> response.

Responses follow ../shared/slack/api-ref (arguments, error names, example responses) and the
shape samples; a function raises SlackApiError for an `{"ok": false}` answer. Each runs under
the fake's state lock, so it may read and change the fake's messages freely.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from tests.fakes._clock import next_ts
from tests.fakes.slack_messages import (
    MAX_MARKDOWN_CHARS,
    MAX_TEXT_CHARS,
    SlackMessage,
    blocks_problem,
    chunks_markdown,
    ts_key,
)

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

# The api-ref states the 12,000-character markdown_text limit of chat.*Stream without naming
# the error; Slack answers over-long text with msg_too_long elsewhere, so the fake does too.
STREAM_TOO_LONG_ERROR = "msg_too_long"

Params = dict[str, Any]
Response = dict[str, Any]


class SlackApiError(Exception):
    def __init__(self, error: str, **extra: Any) -> None:
        super().__init__(error)
        self.error = error
        self.extra = extra


def _required(params: Params, *names: str) -> None:
    for name in names:
        if params.get(name) in (None, ""):
            raise SlackApiError(
                "invalid_arguments",
                response_metadata={"messages": [f"[ERROR] missing required field: {name}"]},
            )


def _own_message(fake: FakeSlack, channel: str, ts: str) -> SlackMessage:
    message = fake._messages.get((channel, ts))
    if message is None or message.deleted:
        raise SlackApiError("message_not_found")
    if message.kind == "seeded":
        raise SlackApiError("cant_update_message")
    return message


def _api_message(fake: FakeSlack, message: SlackMessage) -> dict[str, Any]:
    return message.as_api_message(team_id=fake.team_id, bot_user_id=fake.bot_user_id, app_id=fake.app_id)


def _check_message_length(params: Params, *, blocks_error: str) -> None:
    if len(params.get("text") or "") > MAX_TEXT_CHARS:
        raise SlackApiError("msg_too_long")
    if len(params.get("markdown_text") or "") > MAX_MARKDOWN_CHARS:
        raise SlackApiError("msg_too_long")
    problem = blocks_problem(params.get("blocks") or [])
    if problem:
        raise SlackApiError(blocks_error, response_metadata={"messages": [f"[ERROR] {problem}"]})


def auth_test(fake: FakeSlack, params: Params) -> Response:
    return {
        "ok": True,
        "url": f"https://{fake.team_domain}.slack.com/",
        "team": fake.team_name,
        "user": fake.bot_user_name,
        "team_id": fake.team_id,
        "user_id": fake.bot_user_id,
        "bot_id": fake.bot_id,
        "is_enterprise_install": False,
    }


def apps_connections_open(fake: FakeSlack, params: Params) -> Response:
    if not fake.socket_mode_url:
        raise SlackApiError("internal_error")  # the test started no FakeSocketMode
    return {"ok": True, "url": fake.socket_mode_url}


def chat_post_message(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel")
    if not any(params.get(k) for k in ("text", "blocks", "attachments", "markdown_text")):
        raise SlackApiError("no_text")
    _check_message_length(params, blocks_error="msg_blocks_too_long")
    message = SlackMessage(
        channel=params["channel"],
        ts=next_ts(),
        thread_ts=params.get("thread_ts") or None,
        text=params.get("text") or "",
        blocks=list(params.get("blocks") or []),
        markdown_text=params.get("markdown_text") or "",
        user=fake.bot_user_id,
        bot_id=fake.bot_id,
        metadata=params.get("metadata") or None,
    )
    fake._store(message)
    return {"ok": True, "channel": message.channel, "ts": message.ts, "message": _api_message(fake, message)}


def chat_update(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "ts")
    message = _own_message(fake, params["channel"], params["ts"])
    _check_message_length(params, blocks_error="msg_too_long")
    if "text" in params:
        message.text = params["text"] or ""
    if "blocks" in params:
        message.blocks = list(params["blocks"] or [])
    if "markdown_text" in params:
        message.markdown_text = params["markdown_text"] or ""
    if params.get("metadata"):
        message.metadata = params["metadata"]
    if message.kind == "stream" and not message.streaming:
        # An update replaces a finished stream's content with the posted text.
        message.kind = "message"
    message.edits += 1
    return {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        "text": message.text,
        "message": _api_message(fake, message),
    }


def chat_delete(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "ts")
    message = _own_message(fake, params["channel"], params["ts"])
    message.deleted = True
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def chat_post_ephemeral(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "user")
    if not any(params.get(k) for k in ("text", "blocks", "attachments", "markdown_text")):
        raise SlackApiError("no_text")
    _check_message_length(params, blocks_error="msg_too_long")
    ts = next_ts()
    fake.ephemeral_messages.append(dict(params, message_ts=ts))
    return {"ok": True, "message_ts": ts}


def chat_get_permalink(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "message_ts")
    channel, ts = params["channel"], params["message_ts"]
    link = f"https://{fake.team_domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
    message = fake._messages.get((channel, ts))
    if message and message.thread_ts and message.thread_ts != ts:
        link += f"?thread_ts={message.thread_ts}&cid={channel}"
    return {"ok": True, "channel": channel, "permalink": link}


def _stream_markdown(params: Params) -> str:
    markdown = (params.get("markdown_text") or "") + chunks_markdown(params.get("chunks"))
    if len(markdown) > MAX_MARKDOWN_CHARS:
        raise SlackApiError(STREAM_TOO_LONG_ERROR)
    return markdown


def chat_start_stream(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel")
    if fake.streaming_refusal:
        raise SlackApiError(fake.streaming_refusal)
    channel = params["channel"]
    if fake.require_stream_recipients and channel[:1] in ("C", "G"):
        if not params.get("recipient_team_id"):
            raise SlackApiError("missing_recipient_team_id")
        if not params.get("recipient_user_id"):
            raise SlackApiError("missing_recipient_user_id")
    message = SlackMessage(
        channel=channel,
        ts=next_ts(),
        thread_ts=params.get("thread_ts") or None,
        markdown_text=_stream_markdown(params),
        user=fake.bot_user_id,
        bot_id=fake.bot_id,
        kind="stream",
        streaming=True,
    )
    fake._store(message)
    return {"ok": True, "channel": channel, "ts": message.ts}


def _streaming_message(fake: FakeSlack, params: Params) -> SlackMessage:
    _required(params, "channel", "ts")
    message = _own_message(fake, params["channel"], params["ts"])
    if message.kind != "stream" or not message.streaming:
        raise SlackApiError("message_not_in_streaming_state")
    return message


def chat_append_stream(fake: FakeSlack, params: Params) -> Response:
    message = _streaming_message(fake, params)
    markdown = _stream_markdown(params)
    if not markdown and not params.get("chunks"):
        raise SlackApiError("no_text")
    message.markdown_text += markdown
    return {"ok": True, "channel": message.channel, "ts": message.ts}


def chat_stop_stream(fake: FakeSlack, params: Params) -> Response:
    message = _streaming_message(fake, params)
    message.markdown_text += _stream_markdown(params)
    if params.get("blocks"):
        message.blocks = list(params["blocks"])
    if params.get("metadata"):
        message.metadata = params["metadata"]
    message.streaming = False
    api_message = _api_message(fake, message)
    api_message.pop("user", None)
    return {
        "ok": True,
        "channel": message.channel,
        "ts": message.ts,
        "message": dict(api_message, text=message.markdown_text),
    }


def assistant_ok(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel_id", "thread_ts")
    return {"ok": True}


AGENT_SESSION_STATUSES = ("active", "processing", "suspended", "closed")


def agents_sessions_set_status(fake: FakeSlack, params: Params) -> Response:
    """api-ref/methods/agents/agents.sessions.setStatus.json; creates the session if needed."""
    _required(params, "channel_id", "status")
    if fake.agent_sessions_refusal:
        raise SlackApiError(fake.agent_sessions_refusal)
    channel, status = params["channel_id"], params["status"]
    if status not in AGENT_SESSION_STATUSES:
        raise SlackApiError("invalid_status")
    if not params.get("thread_ts"):
        raise SlackApiError("thread_ts_required")  # thread-based sessions in channels and DMs
    fake.agent_sessions[(channel, params["thread_ts"])] = status
    response: Response = {"ok": True, "status": status, "agent_status": status}
    if not fake.subscribed_to_agent_session_stopped:
        response["warning"] = "missing_agent_session_stopped_event_subscription"
    return response


def conversations_replies(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "ts")
    channel, root = params["channel"], params["ts"]
    thread = fake._thread(channel, root)
    if not thread:
        raise SlackApiError("thread_not_found")
    thread = _within(thread, params)
    limit = int(params.get("limit") or 1000)
    start = 0
    if params.get("cursor"):
        start = _position_of_cursor(thread, params["cursor"])
    page = thread[start : start + limit]
    response: Response = {
        "ok": True,
        "messages": [_api_message(fake, m) for m in page],
        "has_more": start + limit < len(thread),
    }
    if response["has_more"]:
        next_ts_value = thread[start + limit].ts
        cursor = base64.b64encode(f"next_ts:{next_ts_value}".encode()).decode()
        response["response_metadata"] = {"next_cursor": cursor}
    else:
        response["response_metadata"] = {"next_cursor": ""}
    return response


def _within(thread: list[SlackMessage], params: Params) -> list[SlackMessage]:
    inclusive = str(params.get("inclusive", "")).lower() in ("1", "true")
    oldest, latest = params.get("oldest"), params.get("latest")

    def kept(message: SlackMessage) -> bool:
        key = ts_key(message.ts)
        if message.ts == message.root_ts:
            return True  # Slack always returns the parent first
        if oldest and (key < Decimal(oldest) or (key == Decimal(oldest) and not inclusive)):
            return False
        return not (latest and (key > Decimal(latest) or (key == Decimal(latest) and not inclusive)))

    return [m for m in thread if kept(m)]


def _position_of_cursor(thread: list[SlackMessage], cursor: str) -> int:
    try:
        decoded = base64.b64decode(cursor, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        raise SlackApiError("invalid_cursor") from None
    if not decoded.startswith("next_ts:"):
        raise SlackApiError("invalid_cursor")
    wanted = decoded.removeprefix("next_ts:")
    for index, message in enumerate(thread):
        if ts_key(message.ts) >= ts_key(wanted):
            return index
    return len(thread)


def conversations_info(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel")
    return {"ok": True, "channel": fake.channel_info(params["channel"])}


def users_info(fake: FakeSlack, params: Params) -> Response:
    _required(params, "user")
    user = fake.user_info(params["user"])
    if user is None:
        raise SlackApiError("user_not_found")
    return {"ok": True, "user": user}


def bots_info(fake: FakeSlack, params: Params) -> Response:
    bot_id = params.get("bot") or fake.bot_id
    bot = fake.bot_info(bot_id)
    if bot is None:
        raise SlackApiError("bot_not_found")
    return {"ok": True, "bot": bot}


def reactions_add(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "timestamp", "name")
    names = fake._reactions.setdefault((params["channel"], params["timestamp"]), set())
    if params["name"] in names:
        raise SlackApiError("already_reacted")
    names.add(params["name"])
    return {"ok": True}


def reactions_remove(fake: FakeSlack, params: Params) -> Response:
    _required(params, "channel", "timestamp", "name")
    names = fake._reactions.get((params["channel"], params["timestamp"]), set())
    if params["name"] not in names:
        raise SlackApiError("no_reaction")
    names.discard(params["name"])
    return {"ok": True}


# Methods Slack answers only for an app-level token (xapp-...), never for the bot token.
APP_TOKEN_METHODS = frozenset({"apps.connections.open"})

METHODS: dict[str, Callable[[FakeSlack, Params], Response]] = {
    "auth.test": auth_test,
    "apps.connections.open": apps_connections_open,
    "chat.postMessage": chat_post_message,
    "chat.update": chat_update,
    "chat.delete": chat_delete,
    "chat.postEphemeral": chat_post_ephemeral,
    "chat.getPermalink": chat_get_permalink,
    "chat.startStream": chat_start_stream,
    "chat.appendStream": chat_append_stream,
    "chat.stopStream": chat_stop_stream,
    "assistant.threads.setStatus": assistant_ok,
    "assistant.threads.setSuggestedPrompts": assistant_ok,
    "assistant.threads.setTitle": assistant_ok,
    "agents.sessions.setStatus": agents_sessions_set_status,
    "conversations.replies": conversations_replies,
    "conversations.info": conversations_info,
    "users.info": users_info,
    "bots.info": bots_info,
    "reactions.add": reactions_add,
    "reactions.remove": reactions_remove,
}
