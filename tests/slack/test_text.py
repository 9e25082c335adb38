"""Slack markup becomes readable text; the bot's own mention disappears."""

import pytest

from bot.slack.events import ignore_reason, parse_message
from bot.slack.text import decode_slack_text

NAMES = {"U2": "Bo"}


@pytest.mark.parametrize(
    ("raw", "readable"),
    [
        ("<@UBOT> hello", "hello"),
        ("<@UBOT>", ""),
        ("   <@UBOT>   ", ""),
        ("ask <@U2> about it", "ask @Bo about it"),
        ("ask <@U3|carla>", "ask @carla"),
        ("see <#C1|general>", "see #general"),
        ("see <#C1>", "see #C1"),
        ("<!here> look", "@here look"),
        ("<!subteam^S1|@oncall> help", "@oncall help"),
        ("<https://example.com|docs> and <https://a.b>", "docs (https://example.com) and https://a.b"),
        ("<mailto:a@b.c|a@b.c>", "a@b.c"),
        ("1 &lt; 2 &amp;&amp; 3 &gt; 2", "1 < 2 && 3 > 2"),
        ("emoji 🎉 and עברית", "emoji 🎉 and עברית"),
    ],
)
def test_decode(raw, readable):
    assert decode_slack_text(raw, bot_user_id="UBOT", name_of=lambda u: NAMES.get(u, u)) == readable


def body(**event):
    return {"team_id": "T1", "event_id": "Ev1", "event": {"type": "message", "channel": "C1", **event}}


@pytest.mark.parametrize(
    ("event", "reason"),
    [
        ({"user": "U1", "ts": "1.0", "text": "hi"}, None),
        ({"user": "U1", "ts": "1.0", "subtype": "file_share", "files": [{}]}, None),
        ({"user": "U1", "ts": "1.0", "subtype": "thread_broadcast", "text": "x"}, None),
        ({"user": "UBOT", "ts": "1.0", "text": "x"}, "the bot's own message"),
        ({"bot_id": "B2", "ts": "1.0", "subtype": "bot_message", "text": "x"}, "subtype bot_message"),
        ({"user": "U9", "bot_id": "B2", "ts": "1.0", "text": "x"}, "posted by a bot or app"),
        ({"ts": "1.0", "subtype": "message_changed", "message": {}}, "subtype message_changed"),
        ({"ts": "1.0", "subtype": "message_deleted"}, "subtype message_deleted"),
        ({"user": "U1", "ts": "1.0", "subtype": "channel_join"}, "subtype channel_join"),
        ({"user": "U1", "ts": "1.0", "subtype": "something_new"}, "subtype something_new"),
        ({"ts": "1.0", "text": "x"}, "no user"),
    ],
)
def test_ignore_rules(event, reason):
    message = parse_message(body(**event))
    assert message is not None
    assert ignore_reason(message, bot_user_id="UBOT") == reason


def test_events_without_channel_or_ts_are_not_messages():
    assert parse_message({"event": {"type": "message", "user": "U1"}}) is None
    assert parse_message({"event": "nonsense"}) is None
    assert parse_message({}) is None


@pytest.mark.parametrize(
    ("profile", "name"),
    [
        ({"display_name": "Ana", "real_name": "Ana Lima", "name": "ana"}, "Ana"),
        ({"display_name": " ", "real_name": "Ana Lima", "name": "ana"}, "Ana Lima"),
        ({"display_name": "", "real_name": "", "name": "ana"}, "ana"),
        ({}, ""),
        ("nonsense", ""),
    ],
)
def test_the_authors_name_comes_from_the_events_user_profile(profile, name):
    message = parse_message(body(user="U1", ts="1.0", text="hi", user_profile=profile))
    assert message is not None and message.user_name == name
