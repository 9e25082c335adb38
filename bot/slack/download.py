"""Download a file's bytes from Slack, safely.

- Only from SLACK_FILE_HOSTS (`host` allows https on 443; `host:port` that port, http or https),
  so a URL pointing anywhere else (127.0.0.1:22, a cloud metadata address) is refused before
  any request is made.
- The bot token goes in the Authorization header, and only to those hosts: a redirect is
  followed only to an allowed host, never elsewhere.
- The body streams with a size cap (and a deadline), so a large or endless body costs at
  most the cap.
- Slack answers a request it will not serve (no files:read scope, a revoked token) with its
  HTML sign-in page and HTTP 200: an HTML body for a file that is not HTML is a permission
  problem, not the file.

urllib3 (which botocore and slack_sdk already bring) does the HTTP; it is used without its own
redirects or retries so each hop is checked here.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from urllib.parse import urljoin, urlsplit

import urllib3
from urllib3.exceptions import HTTPError, TimeoutError

from bot import messages as say
from bot.files.attach import FileUnavailable

log = logging.getLogger(__name__)

DEFAULT_FILE_HOSTS = ("files.slack.com",)
MAX_REDIRECTS = 3
CHUNK_BYTES = 64 * 1024
_DEFAULT_PORTS = {"https": 443, "http": 80}


def parse_hosts(entries: Iterable[str]) -> frozenset[tuple[str, int | None]]:
    """SLACK_FILE_HOSTS entries as (host, port or None)."""
    hosts: set[tuple[str, int | None]] = set()
    for entry in entries:
        entry = entry.strip().lower()
        host, _, port = entry.rpartition(":") if ":" in entry else (entry, "", "")
        if host:
            hosts.add((host, int(port) if port else None))
    return frozenset(hosts)


def is_allowed(url: str, hosts: frozenset[tuple[str, int | None]]) -> bool:
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return False
    if parts.scheme not in _DEFAULT_PORTS or parts.username or parts.password:
        return False
    host = (parts.hostname or "").lower()
    if (host, port or _DEFAULT_PORTS[parts.scheme]) in hosts:
        return True
    # An entry without a port: Slack's own https only.
    return parts.scheme == "https" and port in (None, 443) and (host, None) in hosts


class SafeDownloader:
    def __init__(
        self, *, token: str, hosts: frozenset[tuple[str, int | None]], timeout: float,
        deadline_seconds: float = 60.0, pool_size: int = 10,
    ) -> None:
        self._token = token
        self._hosts = hosts
        self._deadline = deadline_seconds
        self._pool = urllib3.PoolManager(
            num_pools=4, maxsize=pool_size, retries=False,
            timeout=urllib3.Timeout(connect=min(5.0, timeout), read=timeout),
        )

    def download(self, url: str, *, max_bytes: int, mimetype: str) -> bytes:
        """The body at `url`; FileUnavailable with the reason when it cannot be had."""
        for _ in range(MAX_REDIRECTS + 1):
            if not is_allowed(url, self._hosts):
                log.warning("refused to download a file from a host not in SLACK_FILE_HOSTS")
                raise FileUnavailable(say.FILE_BAD_HOST)
            response = self._get(url)
            if response.status in (301, 302, 303, 307, 308):
                url = urljoin(url, response.headers.get("Location", ""))
                response.close()
                continue
            try:
                body = self._body(response, max_bytes=max_bytes, mimetype=mimetype)
            except FileUnavailable:
                response.close()  # the rest of the body is never read: the connection goes
                raise
            response.release_conn()
            return body
        raise FileUnavailable(say.FILE_UNREACHABLE)

    def _get(self, url: str) -> urllib3.BaseHTTPResponse:
        try:
            return self._pool.request(
                "GET", url, headers={"Authorization": f"Bearer {self._token}"},
                redirect=False, preload_content=False,
            )
        except TimeoutError:
            raise FileUnavailable(say.FILE_TIMED_OUT) from None
        except HTTPError as error:
            log.warning("file download failed: %s", type(error).__name__)
            raise FileUnavailable(say.FILE_UNREACHABLE) from None

    def _body(self, response: urllib3.BaseHTTPResponse, *, max_bytes: int, mimetype: str) -> bytes:
        if response.status in (401, 403):
            raise FileUnavailable(say.FILE_NO_ACCESS)
        if response.status in (404, 410):
            raise FileUnavailable(say.FILE_GONE, deleted=True)
        if response.status != 200:
            log.warning("file download answered HTTP %d", response.status)
            raise FileUnavailable(say.FILE_UNREACHABLE)
        content_type = (response.headers.get("Content-Type") or "").lower()
        if content_type.startswith("text/html") and not mimetype.lower().startswith("text/html"):
            log.warning("Slack sent its sign-in page instead of a file: the bot token lacks the "
                        "files:read scope or was revoked (reinstall the app)")
            raise FileUnavailable(say.FILE_NO_ACCESS)
        declared = response.headers.get("Content-Length")
        if declared and declared.isdigit() and int(declared) > max_bytes:
            raise FileUnavailable(say.FILE_TOO_LARGE.format(limit=f"{max_bytes // 1_000_000} MB"))
        return self._read_capped(response, max_bytes=max_bytes)

    def _read_capped(self, response: urllib3.BaseHTTPResponse, *, max_bytes: int) -> bytes:
        ends = time.monotonic() + self._deadline
        parts: list[bytes] = []
        size = 0
        try:
            for chunk in response.stream(CHUNK_BYTES):
                size += len(chunk)
                if size > max_bytes:
                    raise FileUnavailable(
                        say.FILE_TOO_LARGE.format(limit=f"{max_bytes // 1_000_000} MB"))
                if time.monotonic() > ends:
                    raise FileUnavailable(say.FILE_TIMED_OUT)
                parts.append(chunk)
        except TimeoutError:
            raise FileUnavailable(say.FILE_TIMED_OUT) from None
        except HTTPError as error:
            log.warning("file download broke off: %s", type(error).__name__)
            raise FileUnavailable(say.FILE_UNREACHABLE) from None
        return b"".join(parts)
