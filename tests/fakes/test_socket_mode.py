"""The Socket Mode fakes speak the real protocol: driven here by slack_sdk's own builtin
SocketModeClient and WebClient, as Bolt's SocketModeHandler drives them in the bot."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from tests.fakes.signing import app_mention, event_callback
from tests.fakes.slack_api import FakeSlack
from tests.fakes.socket_mode import FakeSocketMode

APP_TOKEN = "xapp-1-A1-1-test"


@pytest.fixture
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def socket_mode(slack: FakeSlack) -> Iterator[FakeSocketMode]:
    with FakeSocketMode() as server:
        slack.socket_mode_url = server.url
        yield server


class AckingApp:
    """What Bolt's handler does with each envelope, reduced to: remember it, ack it."""

    def __init__(self, web_client: WebClient) -> None:
        self.requests: list[SocketModeRequest] = []
        self.messages: list[dict[str, Any]] = []
        self.client = SocketModeClient(app_token=APP_TOKEN, web_client=web_client,
                                       auto_reconnect_enabled=False)
        self.client.message_listeners.append(self._remember_message)
        self.client.socket_mode_request_listeners.append(self._ack)

    def _remember_message(self, _client: Any, message: dict[str, Any], _raw: str | None) -> None:
        self.messages.append(message)

    def _ack(self, client: Any, request: SocketModeRequest) -> None:
        self.requests.append(request)
        client.send_socket_mode_response(SocketModeResponse(envelope_id=request.envelope_id))


@pytest.fixture
def app(slack: FakeSlack, socket_mode: FakeSocketMode) -> Iterator[AckingApp]:
    acking = AckingApp(WebClient(token=slack.bot_token, base_url=slack.url))
    acking.client.connect()
    yield acking
    # Closed from the server's side first: the client's own close() would wait for its
    # receiving thread's 3-second socket timeout.
    socket_mode.stop()
    acking.client.close()


def test_connections_open_answers_the_socket_url_for_an_app_token(slack, socket_mode):
    client = WebClient(base_url=slack.url)
    assert client.apps_connections_open(app_token=APP_TOKEN)["url"] == socket_mode.url
    with pytest.raises(SlackApiError) as refused:
        client.apps_connections_open(app_token=slack.bot_token)
    assert refused.value.response["error"] == "invalid_auth"


def test_connections_open_without_a_socket_server_is_an_internal_error(slack):
    with pytest.raises(SlackApiError) as failed:
        WebClient(base_url=slack.url).apps_connections_open(app_token=APP_TOKEN)
    assert failed.value.response["error"] == "internal_error"


def test_the_bot_token_still_works_and_an_app_token_does_not(slack):
    assert WebClient(token=slack.bot_token, base_url=slack.url).auth_test()["ok"]
    with pytest.raises(SlackApiError) as refused:
        WebClient(token=APP_TOKEN, base_url=slack.url).auth_test()
    assert refused.value.response["error"] == "invalid_auth"


def test_envelopes_reach_the_sdk_client_and_its_acks_are_recorded(app, socket_mode):
    payload = event_callback(app_mention(channel="C1", user="U1", text="<@U_BOT> hi",
                                         ts="1700000001.000100"))
    started = time.monotonic()
    first = socket_mode.deliver(payload)
    retry = socket_mode.deliver(payload, retry_attempt=2, retry_reason="timeout")

    socket_mode.wait_for_acks([first, retry])
    waited = time.monotonic() - started
    assert socket_mode.connections == 1
    assert app.messages[0]["type"] == "hello"
    assert app.messages[0]["connection_info"] == {"app_id": "A1"}
    by_id = {request.envelope_id: request for request in app.requests}
    assert by_id[first].type == "events_api"
    assert by_id[first].payload == payload
    assert (by_id[first].retry_attempt, by_id[first].retry_reason) == (0, "")
    assert (by_id[retry].retry_attempt, by_id[retry].retry_reason) == (2, "timeout")
    assert socket_mode.envelope(retry).ack == {"envelope_id": retry}
    assert 0 < socket_mode.ack_seconds(first) <= waited


def test_a_burst_is_sent_back_to_back_and_every_ack_is_matched(app, socket_mode):
    payloads = [event_callback(app_mention(channel=f"C{i}", user="U1", text="<@U_BOT> hi",
                                           ts=f"1700000001.00010{i}")) for i in range(5)]
    envelope_ids = socket_mode.deliver_many(payloads)

    socket_mode.wait_for_acks(envelope_ids)
    assert len(set(envelope_ids)) == 5
    assert [r.payload for r in sorted(app.requests, key=lambda r: envelope_ids.index(r.envelope_id))] == payloads
    assert all(socket_mode.envelope(i).acked_at is not None for i in envelope_ids)


def test_delivering_without_a_connected_app_fails_after_the_timeout():
    with FakeSocketMode() as server, pytest.raises(AssertionError, match="no app connected"):
        server.deliver({"type": "event_callback"}, timeout=0.1)
