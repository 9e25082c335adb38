"""HTTP mode: Bolt behind waitress, a production WSGI server (not Bolt's dev server)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from slack_bolt import App

from bot.serving.envelope import MAX_BODY_BYTES

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def create_wsgi_app(app: App) -> WSGIApp:
    """One process acknowledging and answering (WORKER_PROCESSES=0): Bolt's own WSGI adapter."""
    from slack_bolt.adapter.wsgi import SlackRequestHandler

    bolt = SlackRequestHandler(app)

    def route(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path, method = environ.get("PATH_INFO", ""), environ.get("REQUEST_METHOD", "")
        if path == HEALTH_PATH and method in ("GET", "HEAD"):
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if path == EVENTS_PATH and method == "POST":
            return _checked(environ, start_response, bolt)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"not found"]

    return route


def make_server(app: WSGIApp, *, host: str = "0.0.0.0", port: int, threads: int = 16) -> Any:
    """A waitress server for a WSGI app (call `.run()`; `port=0` picks a free port, see
    `.effective_port`)."""
    from waitress import create_server

    # waitress stops accepting at 100 open connections by default, and select() cannot watch
    # sockets numbered past 1,023: a burst of events would wait in the listen backlog.
    # Bodies over MAX_BODY_BYTES are refused with 413 before they are read: an unsigned 64 MB
    # POST must not cost 64 MB (its signature can only be checked once it is read).
    return create_server(app, host=host, port=port, threads=threads,
                         max_request_body_size=MAX_BODY_BYTES,
                         connection_limit=1000, asyncore_use_poll=True,
                         ident="claude-slack-bot")


def _checked(environ: dict[str, Any], start_response: Callable[..., Any], bolt: WSGIApp) -> Iterable[bytes]:
    """Bolt behind a shape check: a signed request of the wrong shape gets 400, not a 500 from
    inside its middleware (the body is read once and handed on)."""
    import io

    from bot.serving.envelope import payload_of

    length = int(environ.get("CONTENT_LENGTH") or 0)
    body = environ["wsgi.input"].read(length)
    if payload_of(body, environ.get("CONTENT_TYPE", "")) is None:
        start_response("400 Bad Request", [("Content-Type", "text/plain")])
        return [b""]
    environ["wsgi.input"] = io.BytesIO(body)
    return bolt(environ, start_response)
