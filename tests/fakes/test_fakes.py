"""The fakes speak the real wire formats: driven here by the real slack_sdk and langchain_aws."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.eventstream import EventStreamBuffer
from botocore.exceptions import ClientError, EventStreamError, ReadTimeoutError
from langchain_aws import ChatBedrockConverse
from langchain_core.messages import AIMessage, BaseMessage, HumanMessage, SystemMessage
from slack_bolt.request import BoltRequest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler
from slack_sdk.signature import SignatureVerifier

from tests.fakes import FakeBedrock, FakeSlack
from tests.fakes._http import FakeHTTPServer, QuietHandler
from tests.fakes.eventstream import encode_event, encode_exception
from tests.fakes.signing import (
    app_mention,
    block_action,
    event_callback,
    interaction_body,
    message,
    message_shortcut,
    post_event,
    post_interaction,
    signed_headers,
)

MODEL_ID = "us.anthropic.claude-sonnet-4-5-20250929-v1:0"
THREAD = "1700000000.000100"


@pytest.fixture(scope="module")
def slack_server() -> Iterator[FakeSlack]:
    with FakeSlack() as fake:
        yield fake


@pytest.fixture
def slack(slack_server: FakeSlack) -> FakeSlack:
    slack_server.reset()
    return slack_server


@pytest.fixture
def client(slack: FakeSlack) -> WebClient:
    return WebClient(token=slack.bot_token, base_url=slack.url)


def slack_error(call: Any) -> str:
    with pytest.raises(SlackApiError) as caught:
        call()
    return caught.value.response["error"]


# --- FakeSlack ---------------------------------------------------------------------------------


def test_auth_test_names_the_bot(client: WebClient) -> None:
    answer = client.auth_test()
    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("U_BOT", "B_BOT", "T1")


def test_post_message_is_recorded_and_shown_in_its_thread(slack: FakeSlack, client: WebClient):
    blocks = [{"type": "markdown", "text": "**Hello** there"}]
    first = client.chat_postMessage(channel="C1", thread_ts=THREAD, text="Hello", blocks=blocks)
    second = client.chat_postMessage(channel="C1", thread_ts=THREAD, text="Second")

    assert float(second["ts"]) > float(first["ts"])
    call = slack.calls_to("chat.postMessage")[0]
    assert call.params["blocks"] == blocks
    assert call.headers["Authorization"] == f"Bearer {slack.bot_token}"
    assert slack.thread_texts("C1", THREAD) == ["**Hello** there", "Second"]
    assert first["message"]["bot_id"] == "B_BOT"


def test_form_encoded_calls_have_json_fields_decoded(slack: FakeSlack, client: WebClient):
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]
    client.api_call("chat.postMessage", params={"channel": "C1", "text": "t", "blocks": json.dumps(blocks)})
    assert slack.calls[-1].params == {"channel": "C1", "text": "t", "blocks": blocks}
    assert slack.bot_messages()[-1].visible_text == "hi"


def test_update_and_delete_change_what_the_thread_shows(slack: FakeSlack, client: WebClient):
    posted = client.chat_postMessage(channel="C1", thread_ts=THREAD, text="thinking…")
    client.chat_update(channel="C1", ts=posted["ts"], text="final answer")
    assert slack.thread_texts("C1", THREAD) == ["final answer"]

    client.chat_delete(channel="C1", ts=posted["ts"])
    assert slack.thread_texts("C1", THREAD) == []
    assert slack_error(lambda: client.chat_update(channel="C1", ts="1.000001", text="x")) == (
        "message_not_found"
    )


def test_chat_stream_accumulates_the_markdown(slack: FakeSlack, client: WebClient) -> None:
    stream = client.chat_stream(
        channel="C1",
        thread_ts=THREAD,
        recipient_team_id="T1",
        recipient_user_id="U1",
        buffer_size=8,
    )
    for piece in ["Hello ", "**world**, ", "how are ", "you?"]:
        stream.append(markdown_text=piece)
    stream.stop()

    assert slack.methods()[0] == "chat.startStream"
    assert slack.methods()[-1] == "chat.stopStream"
    assert "chat.appendStream" in slack.methods()
    assert slack.thread_texts("C1", THREAD) == ["Hello **world**, how are you?"]
    late_append = slack_error(
        lambda: client.chat_appendStream(channel="C1", ts=stream.ts, markdown_text="more")
    )
    assert late_append == "message_not_in_streaming_state"


def test_stream_calls_over_12000_characters_are_refused(client: WebClient) -> None:
    started = client.chat_startStream(channel="D1", thread_ts=THREAD, markdown_text="x" * 12_000)
    too_long = slack_error(
        lambda: client.chat_appendStream(channel="D1", ts=started["ts"], markdown_text="y" * 12_001)
    )
    assert too_long == "msg_too_long"


def test_streaming_to_a_channel_needs_the_recipient(client: WebClient) -> None:
    missing = slack_error(lambda: client.chat_startStream(channel="C1", thread_ts=THREAD))
    assert missing == "missing_recipient_team_id"


def test_refused_streaming_fails_until_cleared(slack: FakeSlack, client: WebClient) -> None:
    slack.refuse_streaming()
    assert slack_error(lambda: client.chat_startStream(channel="D1", thread_ts=THREAD)) == (
        "not_allowed_token_type"
    )
    slack.refuse_streaming(None)
    assert client.chat_startStream(channel="D1", thread_ts=THREAD)["ok"]


@pytest.mark.parametrize(
    ("arguments", "error"),
    [
        ({"text": "x" * 40_001}, "msg_too_long"),
        ({"text": "x", "blocks": [{"type": "markdown", "text": "y" * 12_001}]}, "msg_blocks_too_long"),
        ({"text": "x", "blocks": [{"type": "markdown", "text": "y" * 6_001}] * 2}, "msg_blocks_too_long"),
        (
            {"text": "x", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "y" * 3_001}}]},
            "msg_blocks_too_long",
        ),
        ({}, "no_text"),
    ],
)
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
def test_oversized_messages_are_refused(client: WebClient, arguments: dict[str, Any], error: str) -> None:
    assert slack_error(lambda: client.chat_postMessage(channel="C1", **arguments)) == error


def test_update_refuses_oversized_text(client: WebClient) -> None:
    posted = client.chat_postMessage(channel="C1", text="short")
    too_long = slack_error(lambda: client.chat_update(channel="C1", ts=posted["ts"], text="x" * 40_001))
    assert too_long == "msg_too_long"


def test_replies_paginate_over_seeded_and_bot_messages(slack: FakeSlack, client: WebClient):
    slack.seed_thread("C2", THREAD, [{"user": "U1", "text": f"m{i}"} for i in range(5)])
    client.chat_postMessage(channel="C2", thread_ts=THREAD, text="bot reply")

    texts, cursor, pages = [], None, 0
    while True:
        page = client.conversations_replies(channel="C2", ts=THREAD, limit=2, cursor=cursor)
        texts += [m["text"] for m in page["messages"]]
        pages += 1
        cursor = page["response_metadata"]["next_cursor"]
        assert page["has_more"] == bool(cursor)
        if not cursor:
            break
    assert texts == ["m0", "m1", "m2", "m3", "m4", "bot reply"]
    assert pages == 3
    bad_cursor = slack_error(lambda: client.conversations_replies(channel="C2", ts=THREAD, cursor="bm9wZQ=="))
    assert bad_cursor == "invalid_cursor"
    assert slack_error(lambda: client.conversations_replies(channel="C2", ts="1.5")) == ("thread_not_found")


def test_ratelimited_answers_429_with_retry_after(slack: FakeSlack, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=7)
    with pytest.raises(SlackApiError) as caught:
        client.chat_postMessage(channel="C1", text="hi")
    assert caught.value.response.status_code == 429
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.response["error"] == "ratelimited"


def test_rate_limit_retry_handler_waits_and_retries(slack: FakeSlack, client: WebClient) -> None:
    client.retry_handlers.append(RateLimitErrorRetryHandler(max_retry_count=1))
    slack.fail_next("chat.postMessage", "ratelimited", retry_after=0)

    assert client.chat_postMessage(channel="C1", text="hi")["ok"]
    assert [c.status for c in slack.calls_to("chat.postMessage")] == [429, 200]
    assert slack.thread_texts("C1", slack.bot_messages()[0].ts) == ["hi"]


def test_injected_errors_answer_once_then_recover(slack: FakeSlack, client: WebClient) -> None:
    slack.fail_next("chat.postMessage", "not_in_channel", times=2)
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text="a")) == "not_in_channel"
    assert slack_error(lambda: client.chat_postMessage(channel="C1", text="b")) == "not_in_channel"
    assert client.chat_postMessage(channel="C1", text="c")["ok"]
    assert [c.error for c in slack.calls] == ["not_in_channel", "not_in_channel", None]


def test_tokens_and_methods_are_checked(slack: FakeSlack) -> None:
    assert slack_error(WebClient(token="xoxb-other", base_url=slack.url).auth_test) == ("invalid_auth")
    assert slack_error(WebClient(base_url=slack.url).auth_test) == "not_authed"
    owned = WebClient(token=slack.bot_token, base_url=slack.url)
    assert slack_error(lambda: owned.api_call("no.such.method")) == "unknown_method"


def test_users_bots_channels_and_reactions(slack: FakeSlack, client: WebClient) -> None:
    slack.seed_user("U2", display_name="Ada", real_name="Ada Lovelace")
    ada = client.users_info(user="U2")["user"]
    assert (ada["profile"]["display_name"], ada["real_name"]) == ("Ada", "Ada Lovelace")
    assert client.users_info(user="U9")["user"]["profile"]["display_name"] == "User U9"
    assert client.users_info(user="U_BOT")["user"]["is_bot"]
    assert slack_error(lambda: client.users_info(user="X1")) == "user_not_found"
    assert client.bots_info(bot="B_BOT")["bot"]["user_id"] == "U_BOT"
    assert client.conversations_info(channel="D1")["channel"]["is_im"]
    assert client.conversations_info(channel="C1")["channel"]["is_channel"]

    client.reactions_add(channel="C1", timestamp=THREAD, name="eyes")
    assert slack.reactions("C1", THREAD) == {"eyes"}
    assert (
        slack_error(lambda: client.reactions_add(channel="C1", timestamp=THREAD, name="eyes"))
        == "already_reacted"
    )
    client.reactions_remove(channel="C1", timestamp=THREAD, name="eyes")
    assert slack.reactions("C1", THREAD) == set()


def test_assistant_and_permalink_methods(slack: FakeSlack, client: WebClient) -> None:
    client.assistant_threads_setStatus(channel_id="D1", thread_ts=THREAD, status="is thinking…")
    client.assistant_threads_setSuggestedPrompts(
        channel_id="D1", thread_ts=THREAD, prompts=[{"title": "Hi", "message": "Hello"}]
    )
    client.assistant_threads_setTitle(channel_id="D1", thread_ts=THREAD, title="Chat")
    assert slack.calls_to("assistant.threads.setStatus")[0].params["status"] == "is thinking…"
    assert slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params["prompts"][0]["title"] == "Hi"
    link = client.chat_getPermalink(channel="C1", message_ts=THREAD)["permalink"]
    assert link.endswith("/archives/C1/p1700000000000100")
    assert client.chat_postEphemeral(channel="C1", user="U1", text="only you")["message_ts"]


def test_wait_for_sees_calls_from_other_threads(slack: FakeSlack, client: WebClient) -> None:
    poster = threading.Thread(
        target=lambda: [client.chat_postMessage(channel="C1", text=f"{i}") for i in range(3)]
    )
    poster.start()
    third = slack.wait_for("chat.postMessage", count=3)
    poster.join()
    assert third.params["text"] == "2"
    assert slack.wait_for(lambda fake: len(fake.bot_messages()) == 3)
    with pytest.raises(AssertionError, match="chat.update"):
        slack.wait_for("chat.update", timeout=0.1)


def test_many_concurrent_clients_get_distinct_messages(slack: FakeSlack) -> None:
    def post(worker: int) -> None:
        own = WebClient(token=slack.bot_token, base_url=slack.url)
        for i in range(5):
            own.chat_postMessage(channel="C1", thread_ts=THREAD, text=f"{worker}-{i}")

    workers = [threading.Thread(target=post, args=(n,)) for n in range(20)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    posted = slack.thread_messages("C1", THREAD)
    assert len(posted) == 100
    assert len({m.ts for m in posted}) == 100


# --- FakeBedrock -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def bedrock_server() -> Iterator[FakeBedrock]:
    with FakeBedrock() as fake:
        yield fake


@pytest.fixture
def bedrock(bedrock_server: FakeBedrock) -> Iterator[FakeBedrock]:
    bedrock_server.reset()
    yield bedrock_server
    bedrock_server.reply = None


@pytest.fixture(scope="module")
def model(bedrock_server: FakeBedrock) -> ChatBedrockConverse:
    return ChatBedrockConverse(
        model=MODEL_ID,
        endpoint_url=bedrock_server.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        max_retries=0,
    )


PROMPT = [("system", "You are a test bot."), ("human", "What is the capital of France?")]


def test_invoke_returns_the_reply_and_records_the_request(
    bedrock: FakeBedrock, model: ChatBedrockConverse
) -> None:
    bedrock.reply = "Paris."
    answer = model.invoke(PROMPT)

    assert answer.content == "Paris."
    assert answer.usage_metadata and answer.usage_metadata["output_tokens"] > 0
    request = bedrock.last_request
    assert (request.model_id, request.streaming) == (MODEL_ID, False)
    assert request.body["system"] == [{"text": "You are a test bot."}]
    assert bedrock.last_messages() == [
        {"role": "user", "content": [{"text": "What is the capital of France?"}]}
    ]
    assert "You are a test bot." in bedrock.all_text_sent()
    assert "capital of France" in bedrock.all_text_sent(request)


@pytest.mark.parametrize("streaming", [False, True])
def test_cache_points_are_accounted_as_bedrock_does(
    bedrock: FakeBedrock, model: ChatBedrockConverse, streaming: bool
) -> None:
    point = {"cachePoint": {"type": "default"}}
    system = SystemMessage([{"type": "text", "text": "You are a test bot."}, point])
    long_turn = HumanMessage([{"type": "text", "text": "x" * 8000}, point])

    def usage(*messages: BaseMessage) -> dict[str, Any]:
        if streaming:
            list(model.stream(list(messages)))
        else:
            model.invoke(list(messages))
        return bedrock.usages[-1]

    small = usage(system, HumanMessage("Hi"))  # a prefix under the minimum: nothing cached
    first = usage(system, long_turn, AIMessage("ok"), HumanMessage("and?"))
    again = usage(system, long_turn, AIMessage("ok"), HumanMessage("and now?"))

    assert (small["cacheReadInputTokens"], small["cacheWriteInputTokens"]) == (0, 0)
    assert first["cacheReadInputTokens"] == 0 and first["cacheWriteInputTokens"] > 2000
    assert again["cacheReadInputTokens"] == first["cacheWriteInputTokens"]
    assert again["cacheWriteInputTokens"] == 0
    assert again["inputTokens"] < 100  # only what was not read from the cache


def test_stream_delivers_the_reply_in_chunks(bedrock: FakeBedrock, model: ChatBedrockConverse):
    bedrock.reply = "The capital of France is Paris."
    chunks = [chunk.text for chunk in model.stream(PROMPT)]

    assert "".join(chunks) == "The capital of France is Paris."
    assert len([c for c in chunks if c]) == 8  # chunk_chars=4
    assert bedrock.last_request.streaming


def test_default_and_callable_replies(bedrock: FakeBedrock, model: ChatBedrockConverse) -> None:
    assert model.invoke(PROMPT).content == "Answer to: What is the capital of France?"
    bedrock.reply = lambda body: f"{len(body['messages'])} message(s)"
    assert model.invoke(PROMPT).content == "1 message(s)"


@pytest.mark.parametrize(
    ("kind", "code"),
    [
        ("throttling", "ThrottlingException"),
        ("unavailable", "ServiceUnavailableException"),
        ("access_denied", "AccessDeniedException"),
        ("not_found", "ResourceNotFoundException"),
        ("too_long", "ValidationException"),
    ],
)
@pytest.mark.parametrize("streaming", [False, True])
def test_http_faults_raise_the_service_error(
    bedrock: FakeBedrock, model: ChatBedrockConverse, kind: str, code: str, streaming: bool
) -> None:
    bedrock.fail_next(kind)
    with pytest.raises(ClientError) as caught:
        if streaming:
            list(model.stream(PROMPT))
        else:
            model.invoke(PROMPT)
    assert caught.value.response["Error"]["Code"] == code
    assert model.invoke(PROMPT).content  # one fault only


def test_too_long_is_seen_as_context_overflow(bedrock: FakeBedrock, model: ChatBedrockConverse):
    from langchain_core.exceptions import ContextOverflowError

    bedrock.fail_next("too_long")
    with pytest.raises(ContextOverflowError):
        model.invoke(PROMPT)


@pytest.mark.parametrize("exception", ["throttlingException", "modelStreamErrorException"])
def test_stream_error_arrives_after_some_text(
    bedrock: FakeBedrock, model: ChatBedrockConverse, exception: str
) -> None:
    bedrock.reply = "The capital of France is Paris."
    bedrock.fail_next("stream_error", exception=exception)
    received: list[str] = []
    with pytest.raises(EventStreamError) as caught:
        for chunk in model.stream(PROMPT):
            received.append(chunk.text)
    assert caught.value.response["Error"]["Code"] == exception
    assert "".join(received) == bedrock.reply[: 4 * bedrock.stream_error_after_chunks]


def test_timeout_exceeds_the_client_read_timeout(bedrock: FakeBedrock) -> None:
    bedrock.timeout_sleep = 2.0
    impatient = ChatBedrockConverse(
        model=MODEL_ID,
        endpoint_url=bedrock.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(read_timeout=0.2, connect_timeout=1, retries={"total_max_attempts": 1}),
    )
    bedrock.fail_next("timeout")
    with pytest.raises(ReadTimeoutError):
        impatient.invoke(PROMPT)


def test_malformed_conversations_are_rejected_like_bedrock(bedrock: FakeBedrock) -> None:
    runtime = boto3.client(
        "bedrock-runtime",
        endpoint_url=bedrock.url,
        region_name="us-east-1",
        aws_access_key_id="x",
        aws_secret_access_key="x",
        config=Config(retries={"total_max_attempts": 1}),
    )
    user = {"role": "user", "content": [{"text": "hi"}]}
    assistant = {"role": "assistant", "content": [{"text": "hello"}]}
    for messages, fragment in [
        ([assistant, user], "must start with a user message"),
        ([user, user], "must alternate"),
        ([{"role": "user", "content": [{"text": " "}]}], "is blank"),
    ]:
        with pytest.raises(ClientError, match=fragment) as caught:
            runtime.converse(modelId=MODEL_ID, messages=messages)
        assert caught.value.response["Error"]["Code"] == "ValidationException"
    answer = runtime.converse(modelId=MODEL_ID, messages=[user, assistant, user])
    assert answer["output"]["message"]["content"] == [{"text": "Answer to: hi"}]
    assert answer["stopReason"] == "end_turn"


def test_many_concurrent_streams_complete(bedrock: FakeBedrock, model: ChatBedrockConverse):
    bedrock.reply = lambda body: "reply to " + body["messages"][-1]["content"][0]["text"]
    results: dict[int, str] = {}

    def ask(n: int) -> None:
        results[n] = "".join(chunk.text for chunk in model.stream(f"question {n}"))

    askers = [threading.Thread(target=ask, args=(n,)) for n in range(30)]
    for asker in askers:
        asker.start()
    for asker in askers:
        asker.join()
    assert results == {n: f"reply to question {n}" for n in range(30)}
    assert len(bedrock.requests) == 30


def test_event_stream_frames_decode_with_botocore() -> None:
    buffer = EventStreamBuffer()
    buffer.add_data(encode_event("contentBlockDelta", {"delta": {"text": "hi"}}))
    buffer.add_data(encode_exception("throttlingException", {"message": "slow down"}))
    event, exception = list(buffer)
    assert event.headers[":event-type"] == "contentBlockDelta"
    assert json.loads(event.payload) == {"delta": {"text": "hi"}}
    assert exception.headers[":message-type"] == "exception"
    assert exception.to_response_dict()["status_code"] == 400


# --- signing -----------------------------------------------------------------------------------

SECRET = "test-signing-secret"


class _Recorder(FakeHTTPServer):
    def __init__(self) -> None:
        super().__init__()
        self.received: list[tuple[dict[str, str], bytes]] = []

    class handler_class(QuietHandler):  # noqa: N801
        def do_POST(self) -> None:  # noqa: N802
            self.owner.received.append((dict(self.headers.items()), self.read_body()))
            self.send_bytes(200, b"ok", {"Content-Type": "text/plain"})


def test_signed_headers_pass_slack_sdk_verification() -> None:
    body = json.dumps(event_callback(app_mention(text="hi"))).encode()
    headers = signed_headers(body, SECRET)
    assert SignatureVerifier(SECRET).is_valid_request(body, headers)
    assert not SignatureVerifier("other").is_valid_request(body, headers)


def test_post_event_and_interaction_send_what_slack_sends() -> None:
    payload = event_callback(message(text="hi", channel="D1"))
    with _Recorder() as recorder:
        url = f"{recorder.base_url}/slack/events"
        assert post_event(url, payload, SECRET, retry_num=1, retry_reason="http_timeout") == (
            200,
            "ok",
        )
        assert post_interaction(url, block_action(action_id="retry"), SECRET)[0] == 200
    (event_headers, event_body), (form_headers, form_body) = recorder.received
    assert json.loads(event_body) == payload
    assert event_headers["X-Slack-Retry-Num"] == "1"
    assert SignatureVerifier(SECRET).is_valid_request(event_body, event_headers)
    assert form_headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert SignatureVerifier(SECRET).is_valid_request(form_body, form_headers)


def test_event_builders_fill_in_what_slack_sends() -> None:
    first, second = event_callback(app_mention(text="hi")), event_callback(app_mention(text="x"))
    assert first["event_id"] != second["event_id"]
    assert first["authorizations"][0]["user_id"] == "U_BOT"
    mention = first["event"]
    assert mention["text"] == "<@U_BOT> hi"
    assert mention["blocks"][0]["elements"][0]["elements"][0] == {
        "type": "user",
        "user_id": "U_BOT",
    }
    reply = message(text="more", channel="C1", thread_ts=THREAD)
    assert (reply["channel_type"], reply["parent_user_id"]) == ("channel", "U1")
    assert float(reply["ts"]) > float(THREAD)
    from_bot = message(text="beep", bot_id="B9", subtype="bot_message")
    assert "client_msg_id" not in from_bot and from_bot["bot_id"] == "B9"


@pytest.mark.parametrize(
    "payload",
    [block_action(action_id="retry", value="1"), message_shortcut(callback_id="ask_claude")],
)
def test_interaction_bodies_parse_in_bolt(payload: dict[str, Any]) -> None:
    body = interaction_body(payload).decode()
    request = BoltRequest(body=body, headers={"content-type": ["application/x-www-form-urlencoded"]})
    assert request.body == payload
