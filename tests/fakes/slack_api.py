"""A wire-level fake of the Slack Web API for end-to-end tests.

slack_sdk's WebClient (and Bolt) call it over HTTP exactly as they call slack.com: `POST
/api/<method>`, form-encoded or JSON, the token in `Authorization: Bearer`. It answers like Slack
(shapes from ../shared/slack/api-ref and shape-samples), keeps the messages it was sent so a
test can read a thread as a user would, records every call, and fails on request.

    with FakeSlack() as slack:
        client = WebClient(token=slack.bot_token, base_url=slack.url)
        client.chat_postMessage(channel="C1", thread_ts="1.000100", text="hi")
        assert slack.thread_texts("C1", "1.000100") == ["hi"]
        slack.fail_next("chat.postMessage", "ratelimited", retry_after=0)
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from tests.fakes._clock import next_ts
from tests.fakes._http import FakeHTTPServer, QuietHandler
from tests.fakes.slack_files import (
    FakeFile,
    FileDownload,
    answer_download,
    file_object,
    files_info,
    next_file_id,
)
from tests.fakes.slack_messages import SlackMessage, chunks_markdown, ts_key
from tests.fakes.slack_methods import APP_TOKEN_METHODS, SlackApiError
from tests.fakes.slack_methods import METHODS as _CHAT_METHODS

METHODS = {**_CHAT_METHODS, "files.info": files_info}

# Arguments slack_sdk sends as JSON strings inside form posts; decoded for assertions.
_JSON_STRING_FIELDS = (
    "blocks",
    "attachments",
    "chunks",
    "metadata",
    "prompts",
    "loading_messages",
    "unfurls",
)


@dataclass(frozen=True)
class SlackCall:
    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return bool(self.response.get("ok"))

    @property
    def error(self) -> str | None:
        return self.response.get("error")

    @property
    def streamed_text(self) -> str:
        """The markdown a chat.*Stream call carries, as `markdown_text` or as chunks."""
        return (self.params.get("markdown_text") or "") + chunks_markdown(self.params.get("chunks"))


CONNECTION_FAULTS = frozenset({"connection_reset", "timeout"})


@dataclass
class _Fault:
    method: str
    error: str
    times: int
    retry_after: int | None
    status: int


def default_real_name(user_id: str) -> str:
    """The real and display name the fake gives a user nobody seeded, e.g. "User U123"."""
    return f"User {user_id}"


class FakeSlack(FakeHTTPServer):
    """The Slack Web API on 127.0.0.1; `url` is the WebClient `base_url`."""

    def __init__(
        self,
        *,
        bot_token: str = "xoxb-test-token",
        bot_user_id: str = "U_BOT",
        bot_id: str = "B_BOT",
        bot_user_name: str = "bot",
        team_id: str = "T1",
        app_id: str = "A1",
        latency: float = 0.0,
        check_token: bool = True,
        require_stream_recipients: bool = True,
        scopes: tuple[str, ...] | None = None,
    ) -> None:
        super().__init__()
        self.bot_token = bot_token
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_user_name = bot_user_name
        self.team_id = team_id
        self.team_name = "Test Team"
        self.team_domain = team_id.lower()
        self.app_id = app_id
        self.latency = latency
        self.check_token = check_token
        # chat.startStream's recipient_* arguments are "required when streaming to channels".
        self.require_stream_recipients = require_stream_recipients
        self.streaming_refusal: str | None = None
        # Agent sessions by (channel, thread_ts): their status as the app last set it.
        self.agent_sessions: dict[tuple[str, str], str] = {}
        # What agents.sessions.setStatus answers every call with (e.g. feature_disabled).
        self.agent_sessions_refusal: str | None = None
        self.subscribed_to_agent_session_stopped = True
        # What apps.connections.open answers (a FakeSocketMode's url); None: internal_error.
        self.socket_mode_url: str | None = None
        # The bot token's scopes, sent as auth.test's x-oauth-scopes header as Slack does
        # (None: no header).
        self.scopes = scopes
        self.ephemeral_messages: list[dict[str, Any]] = []
        # Downloads get the sign-in page even with the token, as for a token without files:read.
        self.files_read_missing = False
        self.hang_seconds = 5.0
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._calls: list[SlackCall] = []
        self._faults: list[_Fault] = []
        self._messages: dict[tuple[str, str], SlackMessage] = {}
        self._reactions: dict[tuple[str, str], set[str]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._channels: dict[str, dict[str, Any]] = {}
        self._bots: dict[str, dict[str, Any]] = {}
        self._files: dict[str, FakeFile] = {}
        self._downloads: list[FileDownload] = []

    @property
    def url(self) -> str:
        return f"{self.base_url}/api/"

    # --- recorded calls --------------------------------------------------------------------

    @property
    def calls(self) -> list[SlackCall]:
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[SlackCall]:
        return [call for call in self.calls if call.method == method]

    def methods(self) -> list[str]:
        return [call.method for call in self.calls]

    def wait_for(
        self,
        predicate_or_method: str | Callable[[FakeSlack], Any],
        timeout: float = 10,
        *,
        count: int = 1,
    ) -> Any:
        """Block until `count` calls of a method arrived (returns the last of them), or until
        `predicate(fake)` is truthy (returns its value); AssertionError on timeout."""
        if isinstance(predicate_or_method, str):
            method = predicate_or_method

            def check() -> Any:
                matching = [c for c in self._calls if c.method == method]
                return matching[count - 1] if len(matching) >= count else None

            what = f"{count} call(s) of {method}"
        else:
            predicate = predicate_or_method

            def check() -> Any:
                return predicate(self)

            what = getattr(predicate, "__name__", "the predicate")
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                result = check()
                if result:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    seen = [c.method for c in self._calls]
                    raise AssertionError(f"FakeSlack: timed out waiting for {what}; saw {seen}")
                self._changed.wait(min(remaining, 0.05))

    def reset(self) -> None:
        """Forget calls, messages, reactions, faults and seeds (configuration stays)."""
        with self._lock:
            self._calls.clear()
            self._faults.clear()
            self._messages.clear()
            self._reactions.clear()
            self._users.clear()
            self._channels.clear()
            self._bots.clear()
            self._files.clear()
            self._downloads.clear()
            self.ephemeral_messages.clear()
            self.streaming_refusal = None
            self.agent_sessions.clear()
            self.agent_sessions_refusal = None

    # --- faults ----------------------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error: str = "ratelimited",
        *,
        times: int = 1,
        retry_after: int | None = None,
        status: int = 200,
    ) -> None:
        """Answer the next `times` calls of `method` ("*" for any) with `{"ok": false}`.

        "ratelimited" answers HTTP 429 with a Retry-After header (default 1 second) as Slack does.
        Two errors are faults of the connection, not answers: "connection_reset" resets it
        without a response, "timeout" answers only after `hang_seconds` (past the client's
        timeout). `status` >= 500 answers that HTTP status.
        """
        if error == "ratelimited":
            status = 429
            retry_after = 1 if retry_after is None else retry_after
        with self._lock:
            self._faults.append(_Fault(method, error, times, retry_after, status))

    def edit_seeded(self, channel: str, ts: str, text: str, *, edited_ts: str) -> None:
        """A person edited a message written before the bot came (conversations.replies shows it)."""
        with self._lock:
            message = self._messages[(channel, ts)]
            message.text = text
            message.raw = dict(message.raw, text=text, edited={"user": message.user, "ts": edited_ts})
            message.raw.pop("blocks", None)

    def delete_message(self, channel: str, ts: str) -> None:
        """A message someone deleted: gone from the thread, as conversations.replies shows it."""
        with self._lock:
            self._messages[(channel, ts)].deleted = True

    def refuse_streaming(self, error: str | None = "not_allowed_token_type") -> None:
        """Make chat.startStream fail with `error` until called again with None."""
        with self._lock:
            self.streaming_refusal = error

    def click_stop(self, channel: str, thread_ts: str, *, user: str = "U_ANA") -> dict[str, Any]:
        """A person clicks the Stop button of the thread's agent session: Slack stops the app's
        streams in that thread and sends `agent_session_stopped`, which is returned (the event,
        to wrap in an envelope and post to the bot). The session's status stays as it was."""
        with self._changed:
            stopped = [m.ts for m in self._thread(channel, thread_ts)
                       if m.kind == "stream" and m.streaming]
            for ts in stopped:
                self._messages[(channel, ts)].streaming = False
            self._changed.notify_all()
        return {
            "type": "agent_session_stopped", "channel": channel, "thread_ts": thread_ts,
            "user": user, "event_ts": next_ts(), "streaming_message_ts": stopped,
        }

    def _take_fault(self, method: str) -> _Fault | None:
        for fault in self._faults:
            if fault.method in (method, "*"):
                fault.times -= 1
                if fault.times <= 0:
                    self._faults.remove(fault)
                return fault
        return None

    # --- seeds -----------------------------------------------------------------------------

    def seed_thread(self, channel: str, thread_ts: str, messages: list[dict[str, Any]]) -> None:
        """Put messages written before the bot came into a thread, parent first.

        Each dict is a Slack message (at least `user`/`text`, or `bot_id`); a missing `ts` is
        filled in (the first message gets `thread_ts`), as are `type`, `thread_ts`, `team`.
        """
        with self._lock:
            parent_user = messages[0].get("user") if messages else None
            for index, given in enumerate(messages):
                ts = given.get("ts") or (
                    thread_ts if index == 0 else f"{Decimal(thread_ts) + Decimal(index):.6f}"
                )
                raw = {"type": "message", "team": self.team_id, **given, "ts": ts}
                raw.setdefault("thread_ts", thread_ts)
                if ts != thread_ts and parent_user:
                    raw.setdefault("parent_user_id", parent_user)
                if ts == thread_ts:
                    raw.setdefault("reply_count", len(messages) - 1)
                self._messages[(channel, ts)] = SlackMessage(
                    channel=channel,
                    ts=ts,
                    thread_ts=thread_ts,
                    text=raw.get("text", ""),
                    user=raw.get("user"),
                    bot_id=raw.get("bot_id"),
                    kind="seeded",
                    raw=raw,
                )

    def seed_user(
        self,
        user_id: str,
        *,
        name: str | None = None,
        real_name: str | None = None,
        display_name: str | None = None,
        is_bot: bool = False,
        deleted: bool = False,
        **extra: Any,
    ) -> None:
        """Make users.info answer for `user_id` with these names (and any extra user fields)."""
        with self._lock:
            self._users[user_id] = (
                self._user(
                    user_id,
                    name=name or user_id.lower(),
                    real_name=real_name if real_name is not None else default_real_name(user_id),
                    display_name=display_name if display_name is not None else default_real_name(user_id),
                    is_bot=is_bot,
                    deleted=deleted,
                )
                | extra
            )

    def seed_channel(self, channel_id: str, **fields: Any) -> None:
        with self._lock:
            self._channels[channel_id] = fields

    def seed_bot(self, bot_id: str, *, name: str, user_id: str | None = None, **extra: Any) -> None:
        with self._lock:
            self._bots[bot_id] = self._bot(bot_id, name=name, user_id=user_id) | extra

    def seed_file(
        self, name: str, data: bytes, *, mimetype: str, filetype: str = "", channel: str = "",
        ts: str = "", thread_ts: str = "", file_id: str = "", width: int = 0, height: int = 0,
        **faults: Any,
    ) -> dict[str, Any]:
        """A file someone uploaded, shared in `channel` on the message `ts` of `thread_ts`;
        returns its object as a message event carries it. `faults`: FakeFile's fields."""
        file = FakeFile(file_id or next_file_id(), name, mimetype,
                        filetype or name.rsplit(".", 1)[-1].lower(), data,
                        width=width, height=height, **faults)
        if channel:
            file.shared.append((channel, ts, thread_ts))
        with self._lock:
            self._files[file.id] = file
            return file_object(self, file)

    def file_with_shares(self, file_id: str) -> dict[str, Any]:
        with self._lock:
            return file_object(self, self._files[file_id], with_shares=True)

    def delete_file(self, file_id: str) -> None:
        """Someone deleted the file: files.info says file_deleted, downloads get 404."""
        with self._lock:
            self._files[file_id].deleted = True

    def change_file(self, file_id: str, **fields: Any) -> None:
        with self._lock:
            for name, value in fields.items():
                setattr(self._files[file_id], name, value)

    @property
    def downloads(self) -> list[FileDownload]:
        with self._lock:
            return list(self._downloads)

    def downloads_of(self, file_id: str) -> list[FileDownload]:
        return [d for d in self.downloads if d.file_id == file_id]

    # --- what users see ---------------------------------------------------------------------

    def thread_messages(
        self, channel: str, thread_ts: str, *, include_seeded: bool = False
    ) -> list[SlackMessage]:
        """The thread's messages in order (parent included), as they look now, deleted ones gone.

        Only what the bot wrote unless `include_seeded`; `.visible_text` is what Slack shows.
        """
        with self._lock:
            thread = self._thread(channel, thread_ts)
            return [replace(m) for m in thread if include_seeded or m.kind != "seeded"]

    def thread_texts(self, channel: str, thread_ts: str) -> list[str]:
        return [m.visible_text for m in self.thread_messages(channel, thread_ts)]

    def message(self, channel: str, ts: str) -> SlackMessage:
        with self._lock:
            return replace(self._messages[(channel, ts)])

    def bot_messages(self) -> list[SlackMessage]:
        """Everything the bot posted or streamed, in order, across channels."""
        with self._lock:
            mine = [m for m in self._messages.values() if m.kind != "seeded" and not m.deleted]
            return [replace(m) for m in sorted(mine, key=lambda m: ts_key(m.ts))]

    def reactions(self, channel: str, ts: str) -> set[str]:
        with self._lock:
            return set(self._reactions.get((channel, ts), set()))

    # --- state used by the methods (callers hold the lock) ----------------------------------

    def _store(self, message: SlackMessage) -> None:
        self._messages[(message.channel, message.ts)] = message

    def _thread(self, channel: str, thread_ts: str) -> list[SlackMessage]:
        thread = [
            m
            for (c, _), m in self._messages.items()
            if c == channel and m.root_ts == thread_ts and not m.deleted
        ]
        return sorted(thread, key=lambda m: ts_key(m.ts))

    def channel_info(self, channel_id: str) -> dict[str, Any]:
        if channel_id not in self._channels and channel_id[:1] not in ("C", "G", "D"):
            raise SlackApiError("channel_not_found")
        kind = channel_id[:1]
        info: dict[str, Any] = {
            "id": channel_id,
            "created": 1700000000,
            "is_archived": False,
            "is_org_shared": False,
            "context_team_id": self.team_id,
            "updated": 1700000000000,
        }
        if kind == "D":
            info |= {"is_im": True, "user": "U1", "is_user_deleted": False, "priority": 0}
        else:
            name = f"channel-{channel_id.lower()}"
            info |= {
                "name": name,
                "name_normalized": name,
                "is_channel": kind == "C",
                "is_group": kind == "G",
                "is_im": False,
                "is_mpim": False,
                "is_private": kind == "G",
                "is_general": False,
                "is_shared": False,
                "is_ext_shared": False,
                "is_member": True,
                "creator": "U1",
                "topic": {"value": "", "creator": "", "last_set": 0},
                "purpose": {"value": "", "creator": "", "last_set": 0},
            }
        return info | self._channels.get(channel_id, {})

    def user_info(self, user_id: str) -> dict[str, Any] | None:
        if user_id in self._users:
            return self._users[user_id]
        if user_id == self.bot_user_id:
            return self._user(
                user_id,
                name=self.bot_user_name,
                real_name=self.bot_user_name,
                display_name="",
                is_bot=True,
                deleted=False,
            )
        if user_id[:1] in ("U", "W"):
            return self._user(
                user_id,
                name=user_id.lower(),
                real_name=default_real_name(user_id),
                display_name=default_real_name(user_id),
                is_bot=False,
                deleted=False,
            )
        return None

    def bot_info(self, bot_id: str) -> dict[str, Any] | None:
        if bot_id in self._bots:
            return self._bots[bot_id]
        if bot_id == self.bot_id:
            return self._bot(bot_id, name=self.bot_user_name, user_id=self.bot_user_id)
        if bot_id.startswith("B"):
            return self._bot(bot_id, name=f"bot-{bot_id.lower()}", user_id=None)
        return None

    def _user(
        self,
        user_id: str,
        *,
        name: str,
        real_name: str,
        display_name: str,
        is_bot: bool,
        deleted: bool,
    ) -> dict[str, Any]:
        profile = {
            "real_name": real_name,
            "real_name_normalized": real_name,
            "display_name": display_name,
            "display_name_normalized": display_name,
            "first_name": real_name.split(" ")[0] if real_name else "",
            "team": self.team_id,
            "image_48": "https://a.slack-edge.com/48.png",
        }
        if is_bot:
            profile |= {"bot_id": self.bot_id if user_id == self.bot_user_id else ""}
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": deleted,
            "color": "9f69e7",
            "real_name": real_name,
            "tz": "Europe/London",
            "tz_label": "Greenwich Mean Time",
            "tz_offset": 0,
            "profile": profile,
            "is_admin": False,
            "is_owner": False,
            "is_primary_owner": False,
            "is_restricted": False,
            "is_ultra_restricted": False,
            "is_bot": is_bot,
            "is_app_user": False,
            "updated": 1700000000,
        }

    def _bot(self, bot_id: str, *, name: str, user_id: str | None) -> dict[str, Any]:
        bot = {
            "id": bot_id,
            "deleted": False,
            "name": name,
            "updated": 1700000000,
            "app_id": self.app_id if bot_id == self.bot_id else f"A_{bot_id}",
            "icons": {"image_36": "https://a.slack-edge.com/36.png"},
        }
        if user_id:
            bot["user_id"] = user_id
        return bot

    # --- one HTTP call ---------------------------------------------------------------------

    def _accepts_token(self, method: str, token: str | None) -> bool:
        if method in APP_TOKEN_METHODS:
            return bool(token and token.startswith("xapp-"))
        return token == self.bot_token

    def _answer(
        self, method: str, params: dict[str, Any], headers: dict[str, str], token: str | None
    ) -> tuple[int, dict[str, Any], dict[str, str]]:
        received = time.time()
        if self.latency:
            self.stopping.wait(self.latency)
        extra_headers: dict[str, str] = {}
        with self._changed:
            status, response = 200, {}
            fault = self._take_fault(method)
            if fault is not None and fault.error in CONNECTION_FAULTS:
                self._calls.append(SlackCall(method, params, headers, received, 0,
                                             {"ok": False, "error": fault.error}))
                self._changed.notify_all()
        if fault is not None and fault.error in CONNECTION_FAULTS:
            if fault.error == "timeout":
                self.stopping.wait(self.hang_seconds)
            return 0, {}, {}
        with self._changed:
            if fault is not None:
                status, response = fault.status, {"ok": False, "error": fault.error}
                if fault.retry_after is not None:
                    extra_headers["Retry-After"] = str(fault.retry_after)
            elif method not in METHODS:
                response = {"ok": False, "error": "unknown_method"}
            elif self.check_token and not token:
                response = {"ok": False, "error": "not_authed"}
            elif self.check_token and not self._accepts_token(method, token):
                response = {"ok": False, "error": "invalid_auth"}
            else:
                try:
                    response = METHODS[method](self, params)
                except SlackApiError as problem:
                    response = {"ok": False, "error": problem.error, **problem.extra}
            if method == "auth.test" and response.get("ok") and self.scopes is not None:
                extra_headers["x-oauth-scopes"] = ",".join(self.scopes)
            self._calls.append(SlackCall(method, params, headers, received, status, response))
            self._changed.notify_all()
        return status, response, extra_headers


def decode_params(content_type: str, body: bytes, query: str) -> dict[str, Any]:
    """The call's arguments, from the query string and a form or JSON body, JSON strings decoded."""
    params: dict[str, Any] = dict(parse_qsl(query, keep_blank_values=True))
    if body and "json" in content_type:
        loaded = json.loads(body)
        if isinstance(loaded, dict):
            params.update(loaded)
    elif body and "x-www-form-urlencoded" in content_type:
        params.update(parse_qsl(body.decode("utf-8"), keep_blank_values=True))
    for name in _JSON_STRING_FIELDS:
        value = params.get(name)
        if isinstance(value, str) and value[:1] in ("[", "{"):
            with contextlib.suppress(ValueError):
                params[name] = json.loads(value)
    return params


class _SlackHandler(QuietHandler):
    owner: FakeSlack  # type: ignore[assignment]

    def do_POST(self) -> None:  # noqa: N802
        self.handle_call(self.read_body())

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/files-pri/"):
            answer_download(self, self.owner, urlsplit(self.path).path)
            return
        self.handle_call(b"")

    def handle_call(self, body: bytes) -> None:
        parts = urlsplit(self.path)
        if not parts.path.startswith("/api/"):
            self.send_bytes(404, b"Not Found", {"Content-Type": "text/plain"})
            return
        method = parts.path.removeprefix("/api/").strip("/")
        try:
            params = decode_params(self.headers.get("Content-Type", ""), body, parts.query)
        except ValueError:
            payload = {"ok": False, "error": "invalid_json"}
            self.send_bytes(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})
            return
        token = params.pop("token", None)
        authorization = self.headers.get("Authorization", "")
        if authorization.startswith("Bearer "):
            token = authorization.removeprefix("Bearer ")
        headers = dict(self.headers.items())
        status, response, extra = self.owner._answer(method, params, headers, token)
        if status == 0:  # a connection fault: no answer at all
            self.reset_connection()
            return
        out_headers = {"Content-Type": "application/json; charset=utf-8", **extra}
        with contextlib.suppress(OSError):
            self.send_bytes(status, json.dumps(response).encode(), out_headers)


FakeSlack.handler_class = _SlackHandler
