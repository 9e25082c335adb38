"""Issue 5, security: unsigned, forged and replayed requests are refused before anything
happens; allowlists hold with a polite refusal where the bot was addressed; logs carry no
tokens, secrets or message text unless LOG_MESSAGE_CONTENT asks for it; workspaces that share
a channel id and ts never see each other's history."""

from __future__ import annotations

import json
import logging
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator

import pytest

from bot import messages as say
from bot.logs import setup_logging
from tests.fakes.anthropic_api import FakeAnthropic
from tests.fakes.openai_api import FakeOpenAI
from tests.fakes.signing import compute_signature
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET
from tests.support.events import CHANNEL, dm, mention, reply, ts_of

SECRET_TEXT = "my password is hunter2-zebra"


def post_raw(url: str, body: bytes, headers: dict[str, str]) -> int:
    request = urllib.request.Request(f"{url}/slack/events", data=body, method="POST",
                                     headers={"Content-Type": "application/json", **headers})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def signed(body: bytes, *, timestamp: int) -> dict[str, str]:
    return {"X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": compute_signature(body, SIGNING_SECRET, timestamp)}


def test_unsigned_forged_and_replayed_requests_are_refused_before_any_side_effect(
    bot, fake_slack, fake_bedrock, table_items
):
    calls_at_start = len(fake_slack.calls)  # auth.test, once, when the app was built
    body = json.dumps(mention(SECRET_TEXT)).encode()
    now = int(time.time())
    attempts = {
        "no signature": {"X-Slack-Request-Timestamp": str(now)},
        "no timestamp": {"X-Slack-Signature": signed(body, timestamp=now)["X-Slack-Signature"]},
        "no headers": {},
        "forged signature": {"X-Slack-Request-Timestamp": str(now),
                             "X-Slack-Signature": compute_signature(body, "guessed", now)},
        "another body's signature": signed(json.dumps(mention("hi")).encode(), timestamp=now),
        "older than 5 minutes": signed(body, timestamp=now - 301),
        "replayed from the future": signed(body, timestamp=now + 400),
        "garbage signature": {"X-Slack-Request-Timestamp": str(now), "X-Slack-Signature": "v0="},
    }
    statuses = {name: post_raw(bot.url, body, headers) for name, headers in attempts.items()}
    assert bot.post(mention("hi"), signature="v0=" + "0" * 64)[0] == 401
    bot.drain()

    assert statuses == dict.fromkeys(attempts, 401)
    assert len(fake_slack.calls) == calls_at_start
    assert fake_bedrock.requests == []
    assert table_items() == ([], [])
    # The same body, correctly signed and fresh, is accepted: the refusals were the signature's.
    assert post_raw(bot.url, body, signed(body, timestamp=now)) == 200
    bot.drain()
    assert len(fake_bedrock.requests) == 1


def test_the_channel_allowlist_refuses_politely_where_the_bot_was_addressed(
    start_bot, fake_slack, fake_bedrock, table_items
):
    bot = start_bot(allowed_channel_ids=frozenset({"C_ALLOWED"}))
    outside = mention("hello from outside")
    inside = mention("hello from inside", channel="C_ALLOWED")
    bot.post(outside)
    bot.post(inside)
    bot.drain()

    # The refusal is for the person who asked alone (chat.postEphemeral), not for the thread.
    assert fake_slack.thread_texts(CHANNEL, ts_of(outside)) == []
    assert [(e["channel"], e["user"], e["thread_ts"], e["text"])
            for e in fake_slack.ephemeral_messages] == [
        (CHANNEL, "U_ANA", ts_of(outside), say.NOT_ALLOWED)]
    assert len(fake_slack.thread_texts("C_ALLOWED", ts_of(inside))) == 1
    assert len(fake_bedrock.requests) == 1
    assert "hello from outside" not in fake_bedrock.all_text_sent()
    messages, _ = table_items()
    assert {m["SessionId"]["S"] for m in messages} == {f"T1:C_ALLOWED:{ts_of(inside)}"}


def test_the_user_allowlist_refuses_mentions_and_dms_and_ignores_other_follow_ups(
    start_bot, fake_slack, fake_bedrock, table_items
):
    bot = start_bot(allowed_user_ids=frozenset({"U_ANA"}))
    ana = mention("ana asks")
    bot.post(ana)
    bot.drain()
    thread = ts_of(ana)
    eve_mention = mention("eve asks", user="U_EVE")
    eve_dm = dm("eve writes privately", user="U_EVE")
    bot.post(eve_mention)
    bot.post(eve_dm)
    bot.post(reply("eve chimes in", thread_ts=thread, user="U_EVE"))  # not addressed: silence
    bot.drain()

    assert fake_slack.thread_texts(CHANNEL, ts_of(eve_mention)) == []
    assert fake_slack.thread_texts("D0DM", ts_of(eve_dm)) == []
    assert sorted((e["channel"], e["user"], e["text"]) for e in fake_slack.ephemeral_messages) == [
        (CHANNEL, "U_EVE", say.NOT_ALLOWED), ("D0DM", "U_EVE", say.NOT_ALLOWED)]
    assert len(fake_slack.thread_texts(CHANNEL, thread)) == 1
    assert len(fake_bedrock.requests) == 1
    messages, _ = table_items()
    assert sorted(m["Text"]["S"] for m in messages if m["Role"]["S"] == "human") == ["ana asks"]


@pytest.fixture
def production_logging(caplog) -> Iterator[Callable[[str], pytest.LogCaptureFixture]]:
    """Set logging up as `python -m bot` does (`setup_logging`), with pytest still capturing
    every record; everything is put back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in list(logging.root.manager.loggerDict)}

    def use(log_level: str) -> pytest.LogCaptureFixture:
        setup_logging(log_level)
        root.addHandler(caplog.handler)
        caplog.handler.setLevel(logging.DEBUG)
        return caplog

    yield use
    root.handlers[:] = handlers
    root.setLevel(level)
    for name in list(logging.root.manager.loggerDict):
        logging.getLogger(name).setLevel(levels.get(name, logging.NOTSET))


def run_turns_with_faults(start_bot, fake_slack, fake_bedrock, **settings) -> None:
    bot = start_bot(model_max_attempts=2, **settings)
    first = mention(SECRET_TEXT)
    bot.post(first)
    bot.drain()
    bot.post(reply(f"{SECRET_TEXT} again", thread_ts=ts_of(first)))
    bot.post(dm(f"{SECRET_TEXT} in a dm"))
    fake_bedrock.fail_next("access_denied")
    fake_slack.fail_next("chat.startStream", "invalid_auth")
    bot.post(mention(f"{SECRET_TEXT} with faults"))
    bot.drain()
    bot.post(mention("hi"), signature="v0=forged")


@pytest.mark.parametrize("level", ["DEBUG", "INFO"])
def test_logs_never_hold_tokens_secrets_or_message_text(
    level, start_bot, fake_slack, fake_bedrock, production_logging
):
    captured = production_logging(level)
    run_turns_with_faults(start_bot, fake_slack, fake_bedrock)

    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in captured.records)
    assert logged, "nothing was logged: the capture is not working"
    for secret in (BOT_TOKEN, SIGNING_SECRET, "hunter2", "zebra", "Answer to"):
        assert secret not in logged, f"{secret!r} reached the logs at {level}"


@pytest.mark.parametrize("provider", ["openai", "anthropic"])
def test_other_providers_sdks_log_no_message_text_at_debug(
    provider, start_bot, fake_slack, production_logging
):
    captured = production_logging("DEBUG")
    fake = FakeOpenAI() if provider == "openai" else FakeAnthropic()
    with fake:
        settings = {"model_provider": provider, f"{provider}_base_url": fake.url,
                    f"{provider}_api_key": "sk-test-key-1234567890"}
        bot = start_bot(**settings)
        event = mention(SECRET_TEXT)
        bot.post(event)
        bot.drain()
        assert len(fake_slack.thread_texts(CHANNEL, ts_of(event))) == 1

    logged = "\n".join(r.getMessage() for r in captured.records)
    assert "hunter2" not in logged
    assert "sk-test-key-1234567890" not in logged


def test_message_text_is_logged_only_when_log_message_content_is_on(
    start_bot, fake_slack, fake_bedrock, production_logging
):
    captured = production_logging("DEBUG")
    run_turns_with_faults(start_bot, fake_slack, fake_bedrock, log_message_content=True)

    logged = "\n".join(r.getMessage() for r in captured.records)
    assert "hunter2" in logged
    assert BOT_TOKEN not in logged and SIGNING_SECRET not in logged


def test_two_workspaces_with_the_same_channel_and_ts_never_share_history(bot, fake_bedrock):
    ts, channel = "1700000300.000100", "C_SHARED"
    bot.post(mention("T1 says: the code is alpha", ts=ts, team="T1", channel=channel))
    bot.post(mention("T2 says: the code is bravo", ts=ts, team="T2", channel=channel))
    bot.drain()
    bot.post(reply("what is the code?", thread_ts=ts, team="T1", channel=channel))
    bot.post(reply("what is the code?", thread_ts=ts, team="T2", channel=channel))
    bot.drain()

    assert len(fake_bedrock.requests) == 4
    for request in fake_bedrock.requests:
        sent = fake_bedrock.all_text_sent(request)
        assert ("alpha" in sent) != ("bravo" in sent), sent
    for team, word, other in (("T1", "alpha", "bravo"), ("T2", "bravo", "alpha")):
        stored = " ".join(m.text for m in bot.deps.store.all(f"{team}:{channel}:{ts}"))
        assert word in stored and other not in stored


def test_one_person_flooding_many_threads_is_slowed_down_and_nothing_is_lost(
    start_bot, fake_slack, fake_bedrock, table_items
):
    bot = start_bot(rate_limit_per_minute=2)
    events = [mention(f"question {n}") for n in range(4)]
    for event in events:
        bot.post(event)
        bot.drain()

    assert len(fake_bedrock.requests) == 2
    answered = [e for e in events if fake_slack.thread_texts(CHANNEL, ts_of(e))]
    assert len(answered) == 2
    assert [m["text"] for m in fake_slack.ephemeral_messages] == [say.SLOW_DOWN]  # said once
    messages, _ = table_items()
    assert sorted(m["Text"]["S"] for m in messages if m["Role"]["S"] == "human") == [
        f"question {n}" for n in range(4)]


def test_thousands_of_mentions_cost_a_few_name_lookups(bot, fake_slack, fake_bedrock):
    crowd = " ".join(f"<@U{n:05d}>" for n in range(2000))
    bot.post(mention(f"ping {crowd}"))
    bot.drain()
    assert len(fake_slack.calls_to("users.info")) <= 21  # the author, and 20 of the crowd
    sent = fake_bedrock.all_text_sent()
    assert "@User U00000" in sent and "@U01999" in sent


def test_thousands_of_mentions_read_by_backfill_cost_a_few_name_lookups(
    bot, fake_slack, fake_bedrock
):
    thread = "1700000100.000100"
    fake_slack.seed_thread(CHANNEL, thread, [
        {"user": "U_BO", "text": " ".join(f"<@U{n:05d}>" for n in range(2000))},
        {"user": "U_CY", "text": " ".join(f"<@W{n:05d}>" for n in range(2000))},
    ])
    bot.post(mention("who was pinged?", thread_ts=thread, ts="1700000500.000100"))
    bot.drain()
    looked_up = [call.params["user"] for call in fake_slack.calls_to("users.info")]
    assert len(looked_up) == len(set(looked_up)) <= 3 + 2 * 20  # three authors, 20 a message
    assert {"U_BO", "U_CY", "U00000", "W00000"} <= set(looked_up)
    sent = fake_bedrock.all_text_sent()
    assert "@User U00000" in sent and "@U01999" in sent
    assert "@User W00000" in sent and "@W01999" in sent
