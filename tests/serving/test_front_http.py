"""The acknowledging process's WSGI app: signature first, then an empty 200 and a hand-over."""

from __future__ import annotations

import io
import json
from typing import Any

from bot.serving.front_http import create_front_app
from bot.serving.workers import Job
from tests.fakes.signing import (
    app_mention,
    event_callback,
    interaction_body,
    message_shortcut,
    signed_headers,
    url_verification,
)

SECRET = "test-signing-secret"


class Workers:
    """Stands in for the worker processes: records what is handed over."""

    size = 2

    def __init__(self) -> None:
        self.jobs: list[tuple[int, Job]] = []

    def submit(self, index: int, job: Job) -> None:
        self.jobs.append((index, job))

    def is_healthy(self) -> bool:
        return True


def call(app: Any, body: bytes, headers: dict[str, str], path: str = "/slack/events") -> tuple[str, bytes]:
    environ = {"PATH_INFO": path, "REQUEST_METHOD": "POST", "wsgi.input": io.BytesIO(body),
               "CONTENT_LENGTH": str(len(body)), "CONTENT_TYPE": headers.pop("Content-Type", ""),
               "QUERY_STRING": ""}
    environ |= {"HTTP_" + name.upper().replace("-", "_"): value for name, value in headers.items()}
    answer: dict[str, str] = {}
    chunks = app(environ, lambda status, _headers: answer.setdefault("status", status))
    return answer["status"], b"".join(chunks)


def test_an_event_is_acknowledged_empty_and_handed_to_its_threads_worker():
    workers = Workers()
    app = create_front_app(workers, signing_secret=SECRET)  # type: ignore[arg-type]
    body = json.dumps(event_callback(app_mention(channel="C1", ts="1700000001.000100"))).encode()
    status, answer = call(app, body, signed_headers(body, SECRET))
    assert (status, answer) == ("200 OK", b"")
    ((_, job),) = workers.jobs
    assert job.mode == "http" and job.body == body.decode()
    assert job.headers["x-slack-signature"].startswith("v0=")  # the worker's Bolt checks it too


def test_an_interaction_is_handed_over_too():
    workers = Workers()
    app = create_front_app(workers, signing_secret=SECRET)  # type: ignore[arg-type]
    body = interaction_body(message_shortcut(callback_id="summarize_thread"))
    status, _ = call(app, body, signed_headers(body, SECRET,
                                                 content_type="application/x-www-form-urlencoded"))
    assert status == "200 OK" and len(workers.jobs) == 1


def test_url_verification_is_answered_here():
    workers = Workers()
    app = create_front_app(workers, signing_secret=SECRET)  # type: ignore[arg-type]
    body = json.dumps(url_verification("c-123")).encode()
    status, answer = call(app, body, signed_headers(body, SECRET))
    assert (status, json.loads(answer)) == ("200 OK", {"challenge": "c-123"})
    assert workers.jobs == []


def test_an_unsigned_or_malformed_request_is_refused_and_nothing_is_handed_over():
    workers = Workers()
    app = create_front_app(workers, signing_secret=SECRET)  # type: ignore[arg-type]
    body = json.dumps(event_callback(app_mention())).encode()
    assert call(app, body, signed_headers(body, "another secret"))[0] == "401 Unauthorized"
    for malformed in (b"{not json", b"[1, 2]", b"null"):
        assert call(app, malformed, signed_headers(malformed, SECRET))[0] == "400 Bad Request"
    assert workers.jobs == []


def test_a_deleted_file_is_handed_to_every_worker():
    workers = Workers()
    app = create_front_app(workers, signing_secret=SECRET)  # type: ignore[arg-type]
    body = json.dumps(event_callback({"type": "file_deleted", "file_id": "F1"})).encode()

    status, _ = call(app, body, signed_headers(body, SECRET))

    assert status.startswith("200")
    assert sorted(index for index, _ in workers.jobs) == [0, 1]
    assert {job.body for _, job in workers.jobs} == {body.decode()}
