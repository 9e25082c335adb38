"""Slack's file objects → FileRefs, and the FileSource that fetches their bytes from Slack.

A message event (or a message read back with conversations.replies) carries full file objects,
so the file on the message being answered is downloaded straight from its
`url_private_download`. A remembered file keeps no URL: files.info gives a fresh one, and says
whether the file still exists and where it is shared, at the first fetch of each file into a
process's cache. Slack leaves the details out of some events (`file_access: check_file_info`,
often in Slack Connect); files.info fills them in when the message is taken in.

A file is read into a thread only if Slack shares it there: one whose shares name only other
conversations is never downloaded.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any

from slack_sdk import WebClient

from bot import messages as say
from bot.core.files import FileRef
from bot.core.records import SessionKey
from bot.files.attach import FileUnavailable
from bot.files.kinds import kind_of
from bot.slack.client import Refused, SlackCaller
from bot.slack.download import SafeDownloader
from bot.slack.payload import mapping_of, text_of

log = logging.getLogger(__name__)

_GONE_ERRORS = frozenset({"file_deleted", "file_not_found"})
_NO_ACCESS_ERRORS = frozenset({
    "missing_scope", "not_allowed_token_type", "invalid_auth", "not_authed", "token_revoked",
    "account_inactive", "token_expired",
})
_ELSEWHERE_ERRORS = frozenset({"not_visible", "access_denied", "no_permission"})


def ref_of(file: Mapping[str, Any], session: SessionKey) -> FileRef | None:
    """What is remembered of one file object (None without an id)."""
    file_id = text_of(file.get("id"))
    if not file_id:
        return None
    name = text_of(file.get("name")) or text_of(file.get("title")) or file_id
    mimetype, filetype = text_of(file.get("mimetype")), text_of(file.get("filetype"))
    url = text_of(file.get("url_private_download")) or text_of(file.get("url_private"))
    access = text_of(file.get("file_access"))
    problem = ""
    if text_of(file.get("mode")) == "tombstone" or access == "file_not_found":
        problem = say.FILE_GONE
    elif not is_shared_here(file, session):
        problem = say.FILE_ELSEWHERE
    external = file.get("is_external") is True or text_of(file.get("mode")) == "external"
    return FileRef(
        id=file_id, name=name, mimetype=mimetype, filetype=filetype,
        size=_int(file.get("size")),
        # A link to Google Drive or Dropbox is not a file Slack holds.
        kind="other" if external else kind_of(mimetype=mimetype, filetype=filetype, name=name),
        width=_int(file.get("original_w")), height=_int(file.get("original_h")),
        url=url, needs_info=access == "check_file_info" or not url, problem=problem,
    )


def refs_of(files: object, session: SessionKey) -> tuple[FileRef, ...]:
    if not isinstance(files, list):
        return ()
    refs = (ref_of(mapping_of(file), session) for file in files)
    return tuple(ref for ref in refs if ref is not None)


def tombstoned_files(body: Mapping[str, Any]) -> list[str]:
    """Ids of the files a `message_changed` event shows as deleted (`mode: tombstone`)."""
    after = mapping_of(mapping_of(body.get("event")).get("message"))
    files = after.get("files")
    if not isinstance(files, list):
        return []
    return [text_of(mapping_of(f).get("id")) for f in files
            if text_of(mapping_of(f).get("mode")) == "tombstone" and text_of(mapping_of(f).get("id"))]


def is_shared_here(file: Mapping[str, Any], session: SessionKey, *, listed: bool = False) -> bool:
    """Whether the file's `shares` include this thread. A message's file object often lists
    none (the message itself is the share): then true, unless `listed` (files.info, which
    lists every share, so none means the file is shared nowhere now)."""
    shares = mapping_of(file.get("shares"))
    places = [mapping_of(shares.get(scope)) for scope in ("public", "private")]
    if not any(places):
        return not listed
    entries = [mapping_of(entry) for place in places
               for entry in (place.get(session.channel_id) or []) if isinstance(place, Mapping)]
    for entry in entries:
        ts, thread_ts = text_of(entry.get("ts")), text_of(entry.get("thread_ts"))
        if session.thread_ts in (ts, thread_ts) or not (ts or thread_ts):
            return True
    # Slack lists only some shares of a widely shared file.
    return file.get("has_more_shares") is True and bool(entries)


class SlackFiles:
    """The FileSource the attacher fetches through, and the files.info look-up for events that
    left a file's details out."""

    def __init__(self, client: WebClient, downloader: SafeDownloader) -> None:
        self._client = client
        self._downloader = downloader

    def fetch(self, ref: FileRef, session: SessionKey, *, max_bytes: int) -> bytes:
        url = ref.url
        if ref.needs_info or not url:
            file = self._info(ref.id, session)
            url = text_of(file.get("url_private_download")) or text_of(file.get("url_private"))
            if not url:
                raise FileUnavailable(say.FILE_NOT_READABLE)
        return self._downloader.download(url, max_bytes=max_bytes, mimetype=ref.mimetype)

    def _info(self, file_id: str, session: SessionKey) -> Mapping[str, Any]:
        return file_info(self._client, file_id, session)


def complete_refs(client: WebClient, refs: Iterable[FileRef], session: SessionKey
                  ) -> tuple[FileRef, ...]:
    """Refs whose event left the details out, filled in from files.info (one that Slack will
    not describe keeps the reason as its problem)."""
    completed: list[FileRef] = []
    for ref in refs:
        if not ref.needs_info or ref.problem:
            completed.append(ref)
            continue
        try:
            described = ref_of(file_info(client, ref.id, session), session)
        except FileUnavailable as unavailable:
            described = FileRef(id=ref.id, name=ref.name, problem=unavailable.reason)
        completed.append(described or ref)
    return tuple(completed)


def file_info(client: WebClient, file_id: str, session: SessionKey) -> Mapping[str, Any]:
    """The file object, once Slack confirms it exists and is shared in this thread."""
    try:
        response = SlackCaller(session.channel_id, log).call(client.files_info, file=file_id)
    except Refused as refusal:
        if refusal.error in _GONE_ERRORS:
            raise FileUnavailable(say.FILE_GONE, deleted=True) from None
        if refusal.error in _NO_ACCESS_ERRORS:
            raise FileUnavailable(say.FILE_NO_ACCESS) from None
        if refusal.error in _ELSEWHERE_ERRORS:
            raise FileUnavailable(say.FILE_ELSEWHERE) from None
        raise FileUnavailable(say.FILE_UNREACHABLE) from None
    file = mapping_of(response.get("file"))
    if text_of(file.get("mode")) == "tombstone" or not file:
        raise FileUnavailable(say.FILE_GONE, deleted=True)
    if not is_shared_here(file, session, listed=True):
        raise FileUnavailable(say.FILE_ELSEWHERE)
    return file


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0
