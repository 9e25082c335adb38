"""Issue 2 end to end: the real Bolt app behind waitress receives signed HTTP events, calls the
fake Slack Web API and the real ChatBedrockConverse against the fake Bedrock, and remembers
threads in DynamoDB Local."""

from __future__ import annotations

from tests.fakes.signing import app_mention, event_callback, message

CHANNEL = "C0CHANNEL"


def mention(ts: str, text: str, *, user: str = "U_ANA", thread_ts: str | None = None,
            team: str = "T1", channel: str = CHANNEL) -> dict:
    event = app_mention(channel=channel, user=user, text=f"<@U_BOT> {text}", ts=ts,
                        thread_ts=thread_ts, team=team)
    return event_callback(event, team_id=team)


def reply(ts: str, text: str, *, thread_ts: str, user: str = "U_ANA", team: str = "T1",
          channel: str = CHANNEL, channel_type: str = "channel", **extra) -> dict:
    event = message(channel=channel, user=user, text=text, ts=ts, thread_ts=thread_ts,
                    channel_type=channel_type, team=team, **extra)
    return event_callback(event, team_id=team)


def dm(ts: str, text: str, *, thread_ts: str | None = None, user: str = "U_ANA") -> dict:
    event = message(channel="D0DM", user=user, text=text, ts=ts, thread_ts=thread_ts,
                    channel_type="im", team="T1")
    return event_callback(event, team_id="T1")


def answers_in(fake_slack, channel: str, thread_ts: str) -> list[str]:
    return fake_slack.thread_texts(channel, thread_ts)


def test_mention_in_channel_is_answered_in_a_thread_under_it(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = "Hello Ana, nice to meet you."
    status, _ = bot.post(mention("1700000001.000100", "hi, I'm Ana"))
    assert status == 200
    bot.drain()

    assert answers_in(fake_slack, CHANNEL, "1700000001.000100") == ["Hello Ana, nice to meet you."]
    start = fake_slack.calls_to("chat.startStream")[0].params
    assert (start["channel"], start["thread_ts"]) == (CHANNEL, "1700000001.000100")
    sent = fake_bedrock.last_request
    assert [m["role"] for m in sent.messages] == ["user"]
    assert "hi, I'm Ana" in fake_bedrock.all_text_sent(sent)
    assert "<@U_BOT>" not in fake_bedrock.all_text_sent(sent)


def test_thread_follow_up_without_mention_remembers_the_thread(bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = lambda body: f"reply #{len(body['messages'])}"
    bot.post(mention("1700000001.000100", "My name is Lee."))
    bot.drain()
    bot.post(reply("1700000002.000100", "Do you remember my name?", thread_ts="1700000001.000100"))
    bot.drain()
    # Another person joins the thread: also answered, with speakers named from now on.
    bot.post(reply("1700000003.000100", "Who is Lee?", thread_ts="1700000001.000100", user="U_BO"))
    bot.drain()

    second, third = fake_bedrock.requests[1], fake_bedrock.requests[2]
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user"]
    assert "My name is Lee." in fake_bedrock.all_text_sent(second)
    assert "reply #1" in fake_bedrock.all_text_sent(second)
    assert "Do you remember my name?" in fake_bedrock.all_text_sent(second)
    third_text = fake_bedrock.all_text_sent(third)
    assert "User U_ANA: My name is Lee." in third_text  # the fake Slack's name for U_ANA
    assert "Who is Lee?" in third_text and "reply #3" in third_text
    assert len(answers_in(fake_slack, CHANNEL, "1700000001.000100")) == 3


def test_names_carried_by_the_events_need_no_users_info_call(bot, fake_slack, fake_bedrock):
    # Slack puts the author's profile on messages people post; users.info is the fallback.
    bot.post(event_callback(app_mention(
        channel=CHANNEL, user="U_ANA", text="<@U_BOT> My name is Lee.", ts="1700000001.000100",
        user_profile={"display_name": "Lee from Sales", "real_name": "Lee Park", "name": "lee"},
    ), team_id="T1"))
    bot.drain()
    bot.post(reply("1700000002.000100", "Who is Lee?", thread_ts="1700000001.000100", user="U_BO",
                   user_profile={"display_name": "", "real_name": "Bo Berg", "name": "bo"}))
    bot.drain()

    assert fake_slack.calls_to("users.info") == []
    second = fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "Lee from Sales: My name is Lee." in second
    assert "Bo Berg: Who is Lee?" in second


def test_mention_inside_the_thread_answers_once(bot, fake_slack, fake_bedrock):
    bot.post(mention("1700000001.000100", "first"))
    bot.drain()
    # Slack sends both an app_mention and a message event for a mention inside a thread.
    bot.post(mention("1700000002.000100", "again", thread_ts="1700000001.000100"))
    bot.post(reply("1700000002.000100", "<@U_BOT> again", thread_ts="1700000001.000100"))
    bot.drain()
    assert len(fake_bedrock.requests) == 2
    assert len(answers_in(fake_slack, CHANNEL, "1700000001.000100")) == 2
    assert "first" in fake_bedrock.all_text_sent(fake_bedrock.requests[1])


def test_dm_is_answered_in_a_thread_and_follow_ups_continue(bot, fake_slack, fake_bedrock):
    bot.post(dm("1700000001.000100", "Remember the number 42."))
    bot.drain()
    bot.post(dm("1700000002.000100", "What number?", thread_ts="1700000001.000100"))
    bot.drain()
    assert len(answers_in(fake_slack, "D0DM", "1700000001.000100")) == 2
    assert "Remember the number 42." in fake_bedrock.all_text_sent(fake_bedrock.requests[1])


def test_threads_and_workspaces_never_share_history(bot, fake_bedrock):
    bot.post(mention("1700000001.000100", "secret alpha"))
    bot.drain()
    bot.post(mention("1700000005.000100", "what did I say?"))
    bot.drain()
    assert "secret alpha" not in fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    # Same channel id and ts in another workspace: a different session.
    bot.post(mention("1700000001.000100", "hello from T2", team="T2"))
    bot.drain()
    bot.post(reply("1700000009.000100", "and?", thread_ts="1700000001.000100", team="T2"))
    bot.drain()
    t2_text = fake_bedrock.all_text_sent(fake_bedrock.requests[3])
    assert "hello from T2" in t2_text and "secret alpha" not in t2_text


def test_own_messages_other_bots_and_edits_never_reach_the_model(bot, fake_bedrock):
    bot.post(mention("1700000001.000100", "start"))
    bot.drain()
    thread = "1700000001.000100"
    bot.post(reply("1700000002.000100", "my own answer", thread_ts=thread, user="U_BOT"))
    bot.post(reply("1700000003.000100", "beep", thread_ts=thread, user="U_OTHERBOT", bot_id="B_OTHER"))
    bot.post(reply("1700000004.000100", "", thread_ts=thread, subtype="bot_message", bot_id="B_OTHER"))
    bot.post(reply("1700000005.000100", "", thread_ts=thread, subtype="message_changed",
                   message={"text": "edited", "user": "U_ANA", "ts": "1700000001.000100"}))
    bot.post(reply("1700000006.000100", "", thread_ts=thread, subtype="message_deleted"))
    bot.drain()
    assert len(fake_bedrock.requests) == 1


def test_model_settings_reach_bedrock(start_bot, fake_bedrock):
    bot = start_bot(model_id="us.anthropic.claude-test-v1:0", model_temperature=0.2,
                    model_top_k=40, model_max_tokens=321, system_prompt="Be brief, test.")
    bot.post(mention("1700000001.000100", "hi"))
    bot.drain()
    sent = fake_bedrock.last_request
    assert sent.model_id == "us.anthropic.claude-test-v1:0"
    assert sent.body["inferenceConfig"]["maxTokens"] == 321
    assert sent.body["inferenceConfig"]["temperature"] == 0.2
    assert sent.body["additionalModelRequestFields"]["top_k"] == 40
    assert sent.system_text == "Be brief, test."


def test_health_and_unsigned_requests(bot):
    import urllib.error
    import urllib.request

    with urllib.request.urlopen(f"{bot.url}/healthz") as response:
        assert response.status == 200
    status, _ = bot.post(mention("1700000001.000100", "hi"), signature="v0=forged")
    assert status == 401
