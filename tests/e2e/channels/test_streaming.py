"""What a user sees while Claude answers: status, a streamed answer, then the feedback buttons;
the post-and-edit fallback; long answers; rendered markdown; Slack API hygiene."""

from __future__ import annotations

import re

import pytest

from bot import messages as say
from bot.slack.formatting import SLACK_MARKDOWN_LIMIT, feedback_blocks, open_fence
from tests.e2e.conftest import CHANNEL, STREAM_BUFFER, dm_in_thread, interact, mention
from tests.fakes.signing import assistant_thread_started, block_action, event_callback
from tests.slack.test_formatting import long_answer
from tests.slack.test_reply import undo_seams

THREAD = "1700000001.000100"
ANSWER = "word " * 240 + "end."  # 1,204 characters: a first piece, three appends, a last piece
FEEDBACK = feedback_blocks(say.FEEDBACK_POSITIVE, say.FEEDBACK_NEGATIVE)


def after_start_up(fake_slack) -> list[str]:
    return [m for m in fake_slack.methods() if m != "auth.test"]


def stored_answer(bot, thread_ts: str = THREAD) -> str:
    records = bot.deps.store.all(f"T1:{CHANNEL}:{thread_ts}")
    return next(r.text for r in records if r.role == "ai")


def test_status_then_native_stream_then_feedback_buttons(steady_bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = ANSWER
    status, _ = steady_bot.post(mention(THREAD, "tell me something"))
    assert status == 200
    steady_bot.drain()

    assert after_start_up(fake_slack) == [
        "assistant.threads.setStatus",  # status first, before the name lookup
        "users.info",
        "chat.startStream",
        "chat.appendStream", "chat.appendStream", "chat.appendStream",
        "chat.stopStream",
    ]
    status_call = fake_slack.calls_to("assistant.threads.setStatus")[0].params
    assert (status_call["channel_id"], status_call["thread_ts"]) == (CHANNEL, THREAD)
    assert status_call["status"] == say.STATUS_THINKING
    assert status_call["loading_messages"] == list(say.LOADING_MESSAGES)
    start_call = fake_slack.calls_to("chat.startStream")[0]
    start = start_call.params
    assert start_call.streamed_text == ANSWER[:4]  # the first words replace the status at once
    assert (start["recipient_team_id"], start["recipient_user_id"]) == ("T1", "U_ANA")
    appends = [c.streamed_text for c in fake_slack.calls_to("chat.appendStream")]
    assert [len(piece) for piece in appends] == [STREAM_BUFFER] * 3
    stop = fake_slack.calls_to("chat.stopStream")[0].params
    assert stop["blocks"] == FEEDBACK
    assert fake_slack.thread_texts(CHANNEL, THREAD) == [ANSWER]
    assert stored_answer(steady_bot) == ANSWER


def test_refused_streaming_posts_once_and_edits(steady_bot, fake_slack, fake_bedrock):
    fake_slack.refuse_streaming()
    fake_bedrock.reply = ANSWER
    steady_bot.post(mention(THREAD, "tell me something"))
    steady_bot.drain()

    assert after_start_up(fake_slack) == [
        "assistant.threads.setStatus",  # status first, before the name lookup
        "users.info",
        "chat.startStream",  # refused: not_allowed_token_type
        "chat.postMessage",
        "chat.update",
    ]
    assert fake_slack.calls_to("chat.startStream")[0].error == "not_allowed_token_type"
    final = fake_slack.calls_to("chat.update")[0].params
    assert final["blocks"] == [{"type": "markdown", "text": ANSWER}, *FEEDBACK]
    assert fake_slack.thread_texts(CHANNEL, THREAD) == [ANSWER]
    assert stored_answer(steady_bot) == ANSWER


@pytest.mark.parametrize("streaming", [True, False], ids=["native", "fallback"])
def test_a_30000_character_answer_with_code_arrives_whole(steady_bot, fake_slack, fake_bedrock, streaming):
    answer = long_answer(seed=3, size=30_000)
    assert answer.count("```") >= 4
    fake_bedrock.reply, fake_bedrock.chunk_chars = answer, 250
    if not streaming:
        fake_slack.refuse_streaming()
    steady_bot.post(mention(THREAD, "write a lot"))
    steady_bot.drain()

    texts = fake_slack.thread_texts(CHANNEL, THREAD)
    assert len(texts) >= 3
    assert undo_seams(texts) == answer
    for text in texts:
        assert len(text) <= SLACK_MARKDOWN_LIMIT
        assert open_fence(text) is None  # every message renders on its own
    for text in texts[:-1]:
        assert re.search(r"\n(```)?$", text)  # cut at a line (closing a fence), never mid-word
    assert stored_answer(steady_bot) == answer
    # The feedback buttons come once, under the end of the answer.
    with_feedback = [m for m in fake_slack.thread_messages(CHANNEL, THREAD) if FEEDBACK[0] in m.blocks]
    assert [m.ts for m in with_feedback] == [fake_slack.thread_messages(CHANNEL, THREAD)[-1].ts]


TABLE_ANSWER = """### Release plan

| step | owner |
|---|---|
| **build** | Ana |
| ship | Bo |

Run `make release`, then:

```bash
git tag v1.0
```
"""


# The fallback posts the first piece at once: "### " has no mrkdwn form, so that first post
# carries only its markdown block, which Slack accepts (slack_sdk merely warns).
@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
@pytest.mark.parametrize("streaming", [True, False], ids=["native", "fallback"])
def test_markdown_with_a_table_is_rendered_by_slack(steady_bot, fake_slack, fake_bedrock, streaming):
    fake_bedrock.reply = TABLE_ANSWER
    if not streaming:
        fake_slack.refuse_streaming()
    steady_bot.post(mention(THREAD, "plan the release"))
    steady_bot.drain()

    [shown] = fake_slack.thread_messages(CHANNEL, THREAD)
    if streaming:
        assert shown.markdown_text == TABLE_ANSWER  # streamed markdown_text: Slack renders it
    else:
        assert shown.blocks[0] == {"type": "markdown", "text": TABLE_ANSWER}
    fallbacks = [c.params["text"] for c in fake_slack.calls if c.method in ("chat.postMessage", "chat.update")]
    assert len(fallbacks) == (0 if streaming else 2)
    for text in fallbacks:  # the notification / old-client text is mrkdwn, never raw markdown
        assert "**" not in text and "###" not in text
    if fallbacks:
        assert "*Release plan*" in fallbacks[-1] and "*build*" in fallbacks[-1]


def test_a_rate_limited_call_is_retried_after_retry_after(steady_bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = ANSWER
    fake_slack.fail_next("chat.appendStream", "ratelimited", retry_after=1)
    steady_bot.post(mention(THREAD, "tell me something"))
    steady_bot.drain()

    first, second = fake_slack.calls_to("chat.appendStream")[:2]
    assert (first.status, first.error) == (429, "ratelimited")
    assert second.ok and second.params == first.params
    assert len(fake_slack.calls_to("chat.appendStream")) == 4
    assert fake_slack.thread_texts(CHANNEL, THREAD) == [ANSWER]


def test_the_bot_user_id_is_learned_once_at_start_up(bot, fake_slack, fake_bedrock):
    assert len(fake_slack.calls_to("auth.test")) == 1  # at start-up, before any event
    bot.post(mention(THREAD, "first"))
    bot.drain()
    bot.post(mention("1700000002.000100", "again", thread_ts=THREAD))
    bot.post(event_callback(assistant_thread_started(user="U_ANA", channel="D0DM", thread_ts="1700000005.000100")))
    bot.drain()
    bot.post(dm_in_thread("1700000006.000100", "hello pane", thread_ts="1700000005.000100"))
    bot.drain()
    interact(bot, block_action(action_id="answer_feedback", value="positive", channel=CHANNEL,
                               message_ts="1700000003.000100", thread_ts=THREAD))
    bot.drain()

    assert len(fake_bedrock.requests) == 3
    assert "<@U_BOT>" not in fake_bedrock.all_text_sent()  # the learned id removed the mention
    assert len(fake_slack.calls_to("auth.test")) == 1
