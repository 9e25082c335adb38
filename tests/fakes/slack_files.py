"""Files in the fake Slack: `files.info`, and the bytes at `url_private_download` on the fake's
own host, as files.slack.com serves them.

A download needs `Authorization: Bearer <bot token>`; without it (or with another token) Slack
answers HTTP 200 with its HTML sign-in page, and so does the fake. Every download is recorded
(`FakeSlack.downloads`) with the bytes sent, so tests and the bench count what was fetched.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.fakes.slack_methods import SlackApiError

if TYPE_CHECKING:
    from tests.fakes.slack_api import FakeSlack

SIGN_IN_PAGE = (
    b"<!DOCTYPE html><html lang=\"en-US\"><head><title>Slack</title></head><body>"
    b"<h1>Sign in to Slack</h1><form action=\"/signin\" method=\"post\"></form></body></html>"
)


@dataclass
class FakeFile:
    id: str
    name: str
    mimetype: str
    filetype: str
    data: bytes
    user: str = "U_ANA"
    # (channel, ts of the message, thread_ts of the thread or "") where it is shared.
    shared: list[tuple[str, str, str]] = field(default_factory=list)
    deleted: bool = False
    width: int = 0
    height: int = 0
    # Download faults: seconds to wait before answering, or a Location to redirect to.
    hang_seconds: float = 0.0
    redirect_to: str = ""
    # What the download answers with as Content-Type ("" : the file's mimetype).
    served_type: str = ""


@dataclass(frozen=True)
class FileDownload:
    path: str
    file_id: str
    authorized: bool
    bytes_sent: int


def file_object(fake: FakeSlack, file: FakeFile, *, with_shares: bool = False) -> dict[str, Any]:
    """The file as a message event or files.info carries it (shape-samples' keys)."""
    url = f"{fake.base_url}/files-pri/{fake.team_id}-{file.id}/download/{quote(file.name)}"
    obj: dict[str, Any] = {
        "id": file.id, "created": 1700000000, "timestamp": 1700000000, "name": file.name,
        "title": file.name, "mimetype": file.mimetype, "filetype": file.filetype,
        "pretty_type": file.filetype.upper(), "user": file.user, "user_team": fake.team_id,
        "editable": False, "size": len(file.data), "mode": "hosted", "is_external": False,
        "external_type": "", "is_public": True, "public_url_shared": False,
        "display_as_bot": False, "username": "",
        "url_private": url.replace("/download/", "/"), "url_private_download": url,
        "permalink": f"https://{fake.team_domain}.slack.com/files/{file.user}/{file.id}/x",
        "has_rich_preview": False, "file_access": "visible",
    }
    if file.width and file.height:
        obj |= {"original_w": file.width, "original_h": file.height, "thumb_360": url}
    if with_shares:
        public: dict[str, list[dict[str, Any]]] = {}
        for channel, ts, thread_ts in file.shared:
            entry = {"reply_users": [], "reply_count": 0, "ts": ts, "channel_name": "c",
                     "team_id": fake.team_id, "share_user_id": file.user}
            if thread_ts:
                entry["thread_ts"] = thread_ts
            public.setdefault(channel, []).append(entry)
        obj |= {"shares": {"public": public}, "channels": sorted(public), "groups": [], "ims": []}
    return obj


def files_info(fake: FakeSlack, params: dict[str, Any]) -> dict[str, Any]:
    if not params.get("file"):
        raise SlackApiError("invalid_arguments")
    file = fake._files.get(params["file"])
    if file is None:
        raise SlackApiError("file_not_found")
    if file.deleted:
        raise SlackApiError("file_deleted")
    return {"ok": True, "file": file_object(fake, file, with_shares=True), "comments": [],
            "response_metadata": {"next_cursor": ""}}


def answer_download(handler: Any, fake: FakeSlack, path: str) -> None:
    """GET /files-pri/<team>-<id>/download/<name>: the bytes, a sign-in page, or a fault."""
    file_id = path.split("/")[2].split("-", 1)[-1] if path.count("/") >= 3 else ""
    authorization = handler.headers.get("Authorization", "")
    authorized = authorization == f"Bearer {fake.bot_token}"
    with fake._lock:
        file = fake._files.get(file_id)
    if file is not None and file.hang_seconds:
        fake.stopping.wait(file.hang_seconds)
    if not authorized or fake.files_read_missing:
        _send(handler, fake, path, file_id, authorized, 200, SIGN_IN_PAGE, "text/html; charset=utf-8")
    elif file is None or file.deleted:
        _send(handler, fake, path, file_id, True, 404, b"Not Found", "text/plain")
    elif file.redirect_to:
        _record(fake, path, file_id, True, 0)
        handler.send_response(302)
        handler.send_header("Location", file.redirect_to)
        handler.send_header("Content-Length", "0")
        handler.end_headers()
    else:
        _send(handler, fake, path, file_id, True, 200, file.data,
              file.served_type or file.mimetype)


def _send(handler: Any, fake: FakeSlack, path: str, file_id: str, authorized: bool, status: int,
          body: bytes, content_type: str) -> None:
    sent = 0
    try:
        handler.send_response(status)
        handler.send_header("Content-Type", content_type)
        handler.send_header("Content-Length", str(len(body)))
        handler.end_headers()
        for start in range(0, len(body), 256 * 1024):
            handler.wfile.write(body[start : start + 256 * 1024])
            sent += len(body[start : start + 256 * 1024])
        handler.wfile.flush()
    except OSError:
        pass  # the client stopped reading (a size cap): what was sent is recorded
    finally:
        _record(fake, path, file_id, authorized, sent)


def _record(fake: FakeSlack, path: str, file_id: str, authorized: bool, sent: int) -> None:
    with fake._changed:
        fake._downloads.append(FileDownload(path, file_id, authorized, sent))
        fake._changed.notify_all()


_ids = threading.Lock()
_next = [0]


def next_file_id() -> str:
    with _ids:
        _next[0] += 1
        return f"F{_next[0]:08d}"
