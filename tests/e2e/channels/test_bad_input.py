"""Issue 5, bad input: one table of what Slack can send, each with the behaviour it must get.

Payloads start from the shape samples (every key Slack has been seen to send, values blanked)
with the needed values filled in. Every case must be acknowledged with 200, must not crash,
must not loop (the bot's own posts, echoed back as Slack would, change nothing) and must store
nothing but the question and answer of a real question.
"""

from __future__ import annotations

import http.client
import urllib.parse
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot import messages as say
from bot.config import Settings
from bot.core.records import StoredMessage
from bot.serving.envelope import MAX_BODY_BYTES
from bot.store.table import create_table
from tests.e2e.conftest import chat_calls, is_claim, is_message, scan_table
from tests.fakes._clock import next_ts
from tests.fakes.bedrock import FakeBedrock
from tests.fakes.signing import event_callback, message, post_signed
from tests.fakes.slack_api import FakeSlack
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, BotServer
from tests.support.events import BOT, CHANNEL, sample_event

THREAD = "1700000000.000100"  # a thread the bot is already part of (seeded in the store)
DM = "D0DM"
ANSWER, IGNORE = "answer", "ignore"
LONG = "long words " * 4_545 + "end"  # 50,000 characters
WORLD = "👋🏽 שלום עולם, مرحبا بالعالم! ¿Qué tal? 🇯🇵 家族 👨‍👩‍👧‍👦"
FILE = {"id": "F1", "name": "report.pdf", "mimetype": "application/pdf", "size": 1234}
FILE_GONE_NOTE = f"\n\n_{say.files_skipped([('report.pdf', say.FILE_GONE)])}_"


def app_mention(text: str | None, **fields: Any) -> dict[str, Any]:
    ts = next_ts()
    values = dict(user="U_ANA", text=text, ts=ts, event_ts=ts, channel=CHANNEL, team="T1")
    return sample_event("AppMention", **(values | fields))


def channel_message(name: str = "Message", *, thread: str | None = THREAD, **fields: Any):
    ts = next_ts()
    values = dict(user="U_ANA", ts=ts, event_ts=ts, channel=CHANNEL, channel_type="channel",
                  team="T1", thread_ts=thread, parent_user_id="U_ANA" if thread else None)
    return sample_event(name, **(values | fields))


def direct_message(name: str = "Message", **fields: Any) -> dict[str, Any]:
    ts = next_ts()
    values = dict(user="U_ANA", ts=ts, event_ts=ts, channel=DM, channel_type="im", team="T1",
                  thread_ts=None, parent_user_id=None)
    return sample_event(name, **(values | fields))


def other_event(name: str, **fields: Any) -> dict[str, Any]:
    return sample_event(name, **fields)


def with_extras(body: dict[str, Any]) -> dict[str, Any]:
    body["x_future_envelope_field"] = {"nested": [1, None, "x"]}
    body["event"]["x_future_event_field"] = [{"type": "something_new"}]
    body["event"]["blocks"] = [{"type": "block_type_from_2030", "elements": [{"x": 1}]}]
    return body


def without(body: dict[str, Any], *keys: str) -> dict[str, Any]:
    for key in keys:
        body["event"].pop(key, None)
    return body


@dataclass(frozen=True)
class Case:
    build: Callable[[], dict[str, Any]]
    expect: str  # ANSWER, IGNORE, or the one message the bot posts
    stored: str = ""  # for ANSWER: the question as it must be stored
    note: str = ""  # for ANSWER: the line under the answer


CASES: dict[str, Case] = {
    # --- mentions -------------------------------------------------------------------------
    "mention": Case(lambda: app_mention(f"<@{BOT}> hello there"), ANSWER, "hello there"),
    "empty mention": Case(lambda: app_mention(f"<@{BOT}>"), say.EMPTY_MESSAGE),
    "mention and only whitespace": Case(
        lambda: app_mention(f"<@{BOT}>  \n\t  \u00a0 "), say.EMPTY_MESSAGE),
    "mention and only other mentions": Case(
        lambda: app_mention(f"<@{BOT}> <@U_ANA> <@U_BO|bo>"), say.EMPTY_MESSAGE),
    "mention and only @here": Case(lambda: app_mention(f"<@{BOT}> <!here>"), say.EMPTY_MESSAGE),
    "mention with text null": Case(lambda: app_mention(None), say.EMPTY_MESSAGE),
    "50,000-character mention": Case(lambda: app_mention(f"<@{BOT}> {LONG}"), ANSWER, LONG),
    "emoji and right-to-left text": Case(lambda: app_mention(f"<@{BOT}> {WORLD}"), ANSWER, WORLD),
    "markup, links and entities": Case(
        lambda: app_mention(f"<@{BOT}> see <https://x.io/a|docs> &amp; <#C9|general> &lt;3"),
        ANSWER, "see docs (https://x.io/a) & #general <3"),
    "mention inside the bot's thread": Case(
        lambda: app_mention(f"<@{BOT}> and then?", thread_ts=THREAD), ANSWER, "and then?"),
    "mention without optional fields": Case(
        lambda: without(app_mention(f"<@{BOT}> bare"), "blocks", "client_msg_id", "team",
                        "user_team", "source_team", "user_profile", "edited", "event_ts",
                        "bot_profile", "thread_ts", "subtype"), ANSWER, "bare"),
    "mention with unknown extra fields": Case(
        lambda: with_extras(app_mention(f"<@{BOT}> future")), ANSWER, "future"),
    "mention without a user": Case(lambda: app_mention(f"<@{BOT}> hi", user=None), IGNORE),
    "mention by another app": Case(
        lambda: app_mention(f"<@{BOT}> beep", bot_id="B_OTHER", app_id="A_OTHER",
                            bot_profile={"id": "B_OTHER", "app_id": "A_OTHER", "name": "x"}),
        IGNORE),
    "mention without ts": Case(lambda: app_mention(f"<@{BOT}> hi", ts=None), IGNORE),
    "mention without channel": Case(lambda: app_mention(f"<@{BOT}> hi", channel=None), IGNORE),
    "mention without any team id": Case(
        lambda: app_mention(f"<@{BOT}> hi", team=None) | {"team_id": "", "authorizations": []},
        IGNORE),
    "mention whose envelope names another team (Slack Connect)": Case(
        lambda: app_mention(f"<@{BOT}> hi", team="T_OTHER") | {"team_id": "T_OTHER"}, ANSWER, "hi"),
    "mention with ts of the wrong type": Case(lambda: app_mention(f"<@{BOT}> hi", ts=17), IGNORE),
    # --- direct messages ------------------------------------------------------------------
    "direct message": Case(lambda: direct_message(text="what is DNS?"), ANSWER, "what is DNS?"),
    "direct message of only whitespace": Case(
        lambda: direct_message(text="   "), say.EMPTY_MESSAGE),
    # FILE has no URL: files.info is asked, and the fake Slack knows no such file.
    "direct message of only files": Case(
        lambda: direct_message("MessageFileShare", text="", files=[FILE]), ANSWER, "",
        FILE_GONE_NOTE),
    "file_share with a question": Case(
        lambda: direct_message("MessageFileShare", text="summarize it", files=[FILE]),
        ANSWER, "summarize it", FILE_GONE_NOTE),
    # --- messages in channels -------------------------------------------------------------
    "follow-up in the bot's thread": Case(
        lambda: channel_message(text="and why?"), ANSWER, "and why?"),
    "thread_broadcast in the bot's thread": Case(
        lambda: channel_message("MessageThreadBroadcast", text="also in channel",
                                root={"ts": THREAD, "text": "", "user": "U_ANA"}),
        ANSWER, "also in channel"),
    "files only in the bot's thread": Case(
        lambda: channel_message("MessageFileShare", text="", files=[FILE]), ANSWER, "",
        FILE_GONE_NOTE),
    "only other mentions in the bot's thread": Case(
        lambda: channel_message(text="<@U_BO> <@U_CY>"), IGNORE),
    "follow-up in a thread the bot is not in": Case(
        lambda: channel_message(text="hi all", thread="1600000000.000100"), IGNORE),
    "channel message without a mention": Case(
        lambda: channel_message(text="lunch?", thread=None), IGNORE),
    "message_changed": Case(lambda: channel_message(
        "MessageChanged", user=None, thread=None,
        message={"type": "message", "user": "U_ANA", "text": "edited", "ts": THREAD,
                 "thread_ts": THREAD},
        previous_message={"type": "message", "user": "U_ANA", "text": "x", "ts": THREAD}),
        IGNORE),
    "message_deleted": Case(lambda: channel_message(
        "MessageDeleted", user=None, deleted_ts=THREAD,
        previous_message={"type": "message", "user": "U_ANA", "text": "x", "ts": THREAD}),
        IGNORE),
    "bot_message": Case(lambda: channel_message(
        "MessageBot", user=None, bot_id="B_OTHER", username="other", text="beep"), IGNORE),
    "another app's message": Case(
        lambda: channel_message(text="I am an app", bot_id="B_OTHER",
                                bot_profile={"id": "B_OTHER", "app_id": "A_O", "name": "o"}),
        IGNORE),
    "the bot's own message": Case(
        lambda: channel_message(text="my answer", user=BOT, bot_id="B_BOT"), IGNORE),
    "channel_join": Case(lambda: channel_message(
        "MessageChannelJoin", thread=None, text="<@U_ANA> has joined the channel"), IGNORE),
    "me_message": Case(lambda: channel_message("MessageMe", text="waves"), IGNORE),
    "message_replied": Case(lambda: channel_message(
        "MessageReplied", user=None, message={"type": "message", "ts": THREAD, "reply_count": 2}),
        IGNORE),
    "ekm_access_denied": Case(
        lambda: channel_message("MessageEkmAccessDenied", text="hidden"), IGNORE),
    "unknown subtype": Case(
        lambda: channel_message(text="new kind", subtype="huddle_from_the_future"), IGNORE),
    "message event with nothing in it": Case(
        lambda: channel_message(text="x") | {"event": {"type": "message"}}, IGNORE),
    # --- events the bot does not handle -----------------------------------------------------
    "reaction_added": Case(lambda: other_event(
        "ReactionAdded", user="U_ANA", reaction="thumbsup",
        item={"type": "message", "channel": CHANNEL, "ts": THREAD}), IGNORE),
    "member_joined_channel": Case(
        lambda: other_event("MemberJoinedChannel", user="U_ANA", channel=CHANNEL), IGNORE),
    "pin_added": Case(lambda: other_event("PinAdded", user="U_ANA", channel_id=CHANNEL), IGNORE),
    "user_change": Case(lambda: other_event("UserChange"), IGNORE),
    "an event type nobody knows": Case(
        lambda: event_callback({"type": "brand_new_event", "ts": next_ts()}), IGNORE),
}


@pytest.fixture(scope="module")
def shared(dynamodb_local) -> Iterator[tuple[BotServer, FakeSlack, FakeBedrock, Any, str]]:
    """One bot for the whole table (a fresh one per case would cost a second each): cases use
    their own messages and the checks compare what changed during each case."""
    client = dynamodb_local.start().client()
    table = f"bot-bad-input-{uuid.uuid4().hex[:8]}"
    create_table(client, table)
    with FakeSlack(bot_token=BOT_TOKEN) as slack, FakeBedrock(reply="An answer.") as bedrock:
        bot = BotServer(Settings(
            _env_file=None, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.url, dynamodb_table=table,
            dynamodb_endpoint_url=dynamodb_local.endpoint_url, aws_region="us-east-1",
            bedrock_endpoint_url=bedrock.url, update_interval_seconds=0.05,
        )).start()
        bot.deps.store.append(f"T1:{CHANNEL}:{THREAD}", [
            StoredMessage.human(ts=THREAD, text="earlier question", author_id="U_ANA"),
            StoredMessage.answer(question_ts=THREAD, text="earlier answer", posted_ts="1.2"),
        ])
        yield bot, slack, bedrock, client, table
        bot.stop()


def echo_of(posted) -> dict[str, Any]:
    """What Slack sends the bot about its own post: a message event with its bot_id."""
    event = message(channel=posted.channel, user=BOT, bot_id="B_BOT", text=posted.visible_text,
                    ts=posted.ts, thread_ts=posted.thread_ts,
                    channel_type="im" if posted.channel.startswith("D") else "channel")
    return event_callback(event)


@pytest.mark.parametrize("name", list(CASES))
def test_every_event_gets_its_behaviour_and_nothing_else(name, shared):
    bot, fake_slack, fake_bedrock, client, table = shared
    fake_slack.reset()
    fake_bedrock.reset()
    case = CASES[name]
    before = {key_of(item) for item in scan_table(client, table)}
    payload = case.build()

    assert bot.post(payload)[0] == 200
    bot.drain()

    added = [item for item in scan_table(client, table) if key_of(item) not in before]
    new = [item for item in added if is_message(item)]
    claims = [item for item in added if is_claim(item)]
    posted = fake_slack.bot_messages()
    if case.expect == ANSWER:
        assert len(fake_bedrock.requests) == 1
        assert [m.visible_text for m in posted] == ["An answer." + case.note]
        assert sorted(m["Role"]["S"] for m in new) == ["ai", "human"]
        [question] = [m for m in new if m["Role"]["S"] == "human"]
        assert question["Text"]["S"] == case.stored
        assert case.stored in fake_bedrock.all_text_sent()
    elif case.expect == IGNORE:
        assert fake_bedrock.requests == []
        assert chat_calls(fake_slack) == []
        assert new == []
    else:
        assert fake_bedrock.requests == []
        assert [m.visible_text for m in posted] == [case.expect]
        assert new == []
    assert {c["ClaimStatus"]["S"] for c in claims} <= {"DONE"}  # no claim left in progress

    # No loop: Slack echoes each of the bot's posts back to it; none is answered.
    calls_before = len(chat_calls(fake_slack))
    for post in posted:
        assert bot.post(echo_of(post))[0] == 200
    bot.drain()
    assert len(chat_calls(fake_slack)) == calls_before
    assert len(fake_bedrock.requests) == (1 if case.expect == ANSWER else 0)


def key_of(item: dict[str, Any]) -> tuple[str, str]:
    return item["SessionId"]["S"], item["MessageKey"]["S"]


def test_the_table_has_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_a_url_verification_challenge_is_answered(bot):
    status, body = bot.post({"token": "t", "challenge": "c-123", "type": "url_verification"})
    assert status == 200 and "c-123" in body


# Signed requests of the wrong shape: refused with 400 (or 413, too large), never a 500, and
# nothing reaches Slack, the model or the table.
MALFORMED: dict[str, tuple[bytes, str, int]] = {
    "event null": (b'{"type": "event_callback", "event": null}', "application/json", 400),
    "event a list": (b'{"type": "event_callback", "event": [1, 2]}', "application/json", 400),
    "event a string": (b'{"type": "event_callback", "event": "hi"}', "application/json", 400),
    "event without a type": (b'{"type": "event_callback", "event": {"text": "hi"}}',
                             "application/json", 400),
    "envelope without a type": (b'{"event": {"type": "app_mention"}}', "application/json", 400),
    "a type that is a number": (b'{"type": 7}', "application/json", 400),
    "a JSON list": (b"[1, 2, 3]", "application/json", 400),
    "JSON null": (b"null", "application/json", 400),
    "not JSON": (b"{this is not json", "application/json", 400),
    "a form without a payload": (b"foo=bar", "application/x-www-form-urlencoded", 400),
    "a form payload that is not JSON": (b"payload=%7Bnope", "application/x-www-form-urlencoded", 400),
}


def refused_before_the_body(url: str, length: int) -> int:
    """The status the bot answers a request announcing `length` bytes, none of them sent."""
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    connection.putrequest("POST", parts.path)
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(length))
    connection.endheaders()
    status = connection.getresponse().status
    connection.close()
    return status


@pytest.mark.parametrize("name", MALFORMED)
def test_a_signed_request_of_the_wrong_shape_gets_a_4xx_and_touches_nothing(
    name, bot, fake_slack, fake_bedrock, table_items
):
    body, content_type, expected = MALFORMED[name]
    before = len(fake_slack.calls)
    status, _ = post_signed(f"{bot.url}/slack/events", body, SIGNING_SECRET,
                            content_type=content_type)
    bot.drain()
    assert status == expected
    assert len(fake_slack.calls) == before and fake_bedrock.requests == []
    assert table_items() == ([], [])


def test_a_body_over_the_limit_is_refused_with_413_before_it_is_read(bot):
    assert refused_before_the_body(f"{bot.url}/slack/events", 64 * 2**20) == 413
    assert refused_before_the_body(f"{bot.url}/slack/events", MAX_BODY_BYTES + 1) == 413


def test_the_bad_input_corpus_has_at_least_fifty_cases():
    assert len(CASES) + len(MALFORMED) + 2 >= 50
