"""The assistant pane (Slack's AI-app surface): greeting, suggested prompts, the thread title,
and answers through the same conversation path and session scheme as everywhere else."""

from __future__ import annotations

from bot import messages as say
from bot.slack.listeners.assistant import title_for
from bot.slack.metadata import GREETING_EVENT_TYPE
from tests.e2e.conftest import CHANNEL, DM, dm_in_thread, mention
from tests.fakes.signing import assistant_thread_started, event_callback, message

PANE = "1700000100.000100"  # the assistant thread's ts (its root message is Slack's)
GREETING = "Hello from the pane!"
PROMPTS = ("What changed this week?", "Draft a reply", "Explain like I'm five", "Plan my day", "Fifth")


def open_pane(fake_slack, bot, *, thread_ts: str = PANE) -> None:
    # What Slack itself puts in a new assistant thread: a root message of subtype
    # assistant_app_thread, written as the user, that holds the thread's title.
    fake_slack.seed_thread(DM, thread_ts, [
        {"user": "U_ANA", "subtype": "assistant_app_thread", "text": "Chats from 2024-09-28",
         "assistant_app_thread": {"title": "Chats from 2024-09-28"}},
    ])
    event = assistant_thread_started(user="U_ANA", channel=DM, thread_ts=thread_ts, context_channel=CHANNEL)
    status, _ = bot.post(event_callback(event))
    assert status == 200
    bot.drain()


def test_a_new_assistant_thread_gets_the_greeting_and_suggested_prompts(start_bot, fake_slack):
    bot = start_bot(assistant_greeting=GREETING, suggested_prompts=PROMPTS)
    open_pane(fake_slack, bot)

    assert [m for m in fake_slack.methods() if m != "auth.test"] == [
        "chat.postMessage", "assistant.threads.setSuggestedPrompts",
    ]
    greeting = fake_slack.calls_to("chat.postMessage")[0].params
    assert (greeting["channel"], greeting["thread_ts"]) == (DM, PANE)
    assert greeting["blocks"] == [{"type": "markdown", "text": GREETING}]
    assert greeting["metadata"]["event_type"] == GREETING_EVENT_TYPE
    prompts = fake_slack.calls_to("assistant.threads.setSuggestedPrompts")[0].params
    assert prompts["thread_ts"] == PANE and prompts["title"] == say.SUGGESTED_PROMPTS_TITLE
    assert prompts["prompts"] == [{"title": p, "message": p} for p in PROMPTS[:4]]  # Slack shows 4


def test_no_greeting_when_it_is_configured_empty(start_bot, fake_slack):
    bot = start_bot(assistant_greeting="")
    open_pane(fake_slack, bot)
    assert [m for m in fake_slack.methods() if m != "auth.test"] == ["assistant.threads.setSuggestedPrompts"]


def test_first_question_titles_the_thread_and_is_answered_in_it(steady_bot, fake_slack, fake_bedrock):
    bot = steady_bot
    open_pane(fake_slack, bot)
    before = len(fake_slack.calls)
    fake_bedrock.reply = "It is 4."
    status, _ = bot.post(dm_in_thread("1700000101.000100", "What is 2 + 2, please?", thread_ts=PANE))
    assert status == 200
    bot.drain()

    assert fake_slack.methods()[before:] == [
        "assistant.threads.setStatus",  # status first, before any lookup
        "users.info",
        "assistant.threads.setTitle",
        "conversations.replies",  # the bot was not in this thread yet: read it once
        "chat.startStream",
        "chat.stopStream",
    ]
    title = fake_slack.calls_to("assistant.threads.setTitle")[0].params
    assert (title["channel_id"], title["thread_ts"], title["title"]) == (DM, PANE, "What is 2 + 2, please?")
    assert fake_slack.calls_to("conversations.replies")[0].params["include_all_metadata"] in ("1", "true", True)
    start = fake_slack.calls_to("chat.startStream")[0].params
    assert (start["channel"], start["thread_ts"]) == (DM, PANE)
    assert fake_slack.thread_texts(DM, PANE)[-1] == "It is 4."
    stored = bot.deps.store.all(f"T1:{DM}:{PANE}")
    assert [(r.role, r.text) for r in stored] == [("human", "What is 2 + 2, please?"), ("ai", "It is 4.")]


def test_title_and_greeting_never_reach_the_model(start_bot, fake_slack, fake_bedrock):
    bot = start_bot(assistant_greeting=GREETING)
    open_pane(fake_slack, bot)
    fake_bedrock.reply = lambda body: f"answer #{len(body['messages'])}"
    bot.post(dm_in_thread("1700000101.000100", "first question", thread_ts=PANE))
    bot.drain()
    bot.post(dm_in_thread("1700000102.000100", "second question", thread_ts=PANE))
    bot.drain()

    assert len(fake_slack.calls_to("assistant.threads.setTitle")) == 1  # from the first question only
    assert len(fake_slack.calls_to("conversations.replies")) == 1
    second = fake_bedrock.requests[1]
    assert [m["role"] for m in second.messages] == ["user", "assistant", "user"]
    sent = fake_bedrock.all_text_sent(second)
    assert "first question" in sent and "answer #1" in sent and "second question" in sent
    assert GREETING not in sent and "Chats from" not in sent and "first question" not in second.system_text
    stored = bot.deps.store.all(f"T1:{DM}:{PANE}")
    assert [(r.role, r.text) for r in stored] == [
        ("human", "first question"), ("ai", "answer #1"), ("human", "second question"), ("ai", "answer #3"),
    ]


def test_each_dm_message_is_handled_exactly_once(bot, fake_slack, fake_bedrock):
    # A top-level DM goes to the message listener; replies in its thread go through Bolt's
    # Assistant middleware, which does not pass them on: one answer each, never two.
    top = event_callback(message(channel=DM, user="U_ANA", text="Remember 42.", ts="1700000200.000100",
                                 channel_type="im"))
    bot.post(top)
    bot.drain()
    bot.post(dm_in_thread("1700000201.000100", "What number?", thread_ts="1700000200.000100"))
    bot.drain()

    assert len(fake_bedrock.requests) == 2
    assert len(fake_slack.thread_texts(DM, "1700000200.000100")) == 2
    assert fake_slack.calls_to("assistant.threads.setTitle") == []  # not a new thread: no title
    assert "Remember 42." in fake_bedrock.all_text_sent(fake_bedrock.requests[1])


def test_backfill_skips_messages_marked_as_outside_the_conversation(bot, fake_slack, fake_bedrock):
    thread = "1700000300.000100"
    fake_slack.seed_thread(CHANNEL, thread, [
        {"user": "U_ANA", "text": "Who owns the release?"},
        {"user": "U_BOT", "bot_id": "B_BOT", "text": "Hi! I'm Claude.",
         "metadata": {"event_type": GREETING_EVENT_TYPE, "event_payload": {}}},
        {"user": "U_BOT", "bot_id": "B_BOT", "text": "Bo owns it."},
    ])
    bot.post(mention("1700000303.000100", "and when is it?", thread_ts=thread))
    bot.drain()

    sent = fake_bedrock.all_text_sent()
    assert "Who owns the release?" in sent and "Bo owns it." in sent
    assert "Hi! I'm Claude." not in sent
    stored = [r.text for r in bot.deps.store.all(f"T1:{CHANNEL}:{thread}")]
    assert "Hi! I'm Claude." not in stored


def test_titles_are_one_short_line():
    assert title_for("  What is\n2 + 2?  ") == "What is 2 + 2?"
    long = title_for("word " * 40)
    assert len(long) <= 81 and long.endswith("…") and not long.endswith(" …")
