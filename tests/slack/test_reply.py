"""The Slack reply sink against the fake Slack Web API: exact call sequences and what users see."""

from __future__ import annotations

import json
import logging
import random
import re
from collections.abc import Callable

import pytest
from slack_sdk import WebClient

from bot.slack.client import make_web_client
from bot.slack.formatting import feedback_blocks, open_fence, to_mrkdwn
from bot.slack.reply import MESSAGE_LIMIT, SlackReplySink
from tests.fakes.slack_api import FakeSlack
from tests.slack.test_formatting import long_answer

CHANNEL = "C1"
THREAD = "1700000000.000100"
NOTE = "I can see the last 40 messages of this thread"
FEEDBACK = feedback_blocks("Good answer", "Bad answer")


class ManualClock:
    """Time that moves only when a test says so: no sleeps, no timing assertions."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def chunks(text: str) -> list[dict[str, str]]:
    """What slack_sdk's ChatStream sends: the markdown as one markdown_text chunk."""
    return [{"type": "markdown_text", "text": text}]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def make_sink(fake_slack: FakeSlack, clock: ManualClock) -> Callable[..., SlackReplySink]:
    def make(client: WebClient | None = None, **overrides: object) -> SlackReplySink:
        arguments: dict = dict(
            channel=CHANNEL,
            thread_ts=THREAD,
            recipient_team_id="T1",
            recipient_user_id="U1",
            buffer_chars=400,
            update_interval=1.0,
            clock=clock,
        )
        arguments.update(overrides)
        return SlackReplySink(client or make_web_client(fake_slack.bot_token, fake_slack.url), **arguments)

    return make


def shown(fake: FakeSlack) -> list[str]:
    return fake.thread_texts(CHANNEL, THREAD)


def chat_methods(fake: FakeSlack) -> list[str]:
    return [m for m in fake.methods() if m != "assistant.threads.setStatus"]


def undo_seams(texts: list[str]) -> str:
    """Join messages, removing the fence close/reopen added where a message ends inside code."""
    heads = [0] * len(texts)
    tails = [len(text) for text in texts]
    for index, (text, following) in enumerate(zip(texts, texts[1:], strict=False)):
        marker = re.search(r"[`~]{3,}\Z", text)
        before = text[: marker.start()] if marker else ""
        fence = open_fence(before) if marker and before.endswith("\n") else None
        if fence and following.startswith(fence.opening + "\n"):
            tails[index] = marker.start()  # type: ignore[union-attr]
            heads[index + 1] = len(fence.opening) + 1
    return "".join(text[head:tail] for text, head, tail in zip(texts, heads, tails, strict=True))


def pieces_of(text: str, seed: int = 0) -> list[str]:
    """The text as a model streams it: small pieces of uneven size."""
    rng = random.Random(seed)
    pieces, start = [], 0
    while start < len(text):
        size = rng.randint(1, 60)
        pieces.append(text[start : start + size])
        start += size
    return pieces


# --- native streaming -----------------------------------------------------------------------


def test_streams_an_answer_between_status_and_feedback(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink(buffer_chars=100, loading_messages=["Reading…", "Thinking…"])
    sink.show_status()
    sink.write("Hello")
    pieces = [f"piece {i:02d} of the answer. ".ljust(25) for i in range(12)]  # 4 fill the buffer
    for piece in pieces:
        sink.write(piece)
    ts = sink.finish(note=NOTE)

    assert fake_slack.methods() == [
        "assistant.threads.setStatus",
        "chat.startStream",
        "chat.appendStream",
        "chat.appendStream",
        "chat.appendStream",
        "chat.stopStream",
    ]
    status, start, *appends, stop = fake_slack.calls
    assert status.params == {
        "channel_id": CHANNEL,
        "thread_ts": THREAD,
        "status": "is thinking…",
        "loading_messages": ["Reading…", "Thinking…"],
    }
    assert start.params == {
        "channel": CHANNEL,
        "thread_ts": THREAD,
        "recipient_team_id": "T1",
        "recipient_user_id": "U1",
        "chunks": chunks("Hello"),
    }
    assert [call.streamed_text for call in appends] == [
        "".join(pieces[0:4]), "".join(pieces[4:8]), "".join(pieces[8:12])
    ]
    assert stop.params == {
        "channel": CHANNEL, "ts": ts, "chunks": chunks(f"\n\n_{NOTE}_"), "blocks": FEEDBACK,
    }
    answer = "Hello" + "".join(pieces)
    assert sink.text == answer
    assert sink.message_ts_list == [ts]
    assert shown(fake_slack) == [answer + f"\n\n_{NOTE}_"]


def test_the_rest_of_the_buffer_goes_out_with_stop_stream(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink(feedback=False)
    sink.write("Short")
    sink.write(" answer.")
    sink.finish(note="_already italic_")
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.stopStream"]
    assert fake_slack.calls[-1].params == {
        "channel": CHANNEL, "ts": sink.message_ts_list[0],
        "chunks": chunks(" answer.\n\n_already italic_"),
    }
    assert shown(fake_slack) == ["Short answer.\n\n_already italic_"]


def test_a_quiet_interval_flushes_a_small_buffer(fake_slack: FakeSlack, make_sink, clock) -> None:
    sink = make_sink(buffer_chars=10_000, update_interval=1.0)
    sink.write("a")
    sink.write("b")
    clock.advance(0.5)
    sink.write("c")
    assert chat_methods(fake_slack) == ["chat.startStream"]
    clock.advance(0.5)
    sink.write("d")
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.appendStream"]
    assert fake_slack.calls[-1].streamed_text == "bcd"


def test_a_30000_character_answer_streams_whole_across_messages_cut_at_safe_points(
    fake_slack: FakeSlack, make_sink
) -> None:
    answer = long_answer(seed=3, size=30_000)
    sink = make_sink()
    sink.show_status()
    for piece in pieces_of(answer):
        sink.write(piece)
    first_ts = sink.finish(note=NOTE)

    texts = shown(fake_slack)
    assert len(texts) >= 3
    assert [m.ts for m in fake_slack.thread_messages(CHANNEL, THREAD)] == sink.message_ts_list
    assert first_ts == sink.message_ts_list[0]
    assert texts[-1].endswith(f"\n\n_{NOTE}_")
    texts[-1] = texts[-1].removesuffix(f"\n\n_{NOTE}_")
    assert undo_seams(texts) == answer == sink.text
    for text in texts:
        assert len(text) <= MESSAGE_LIMIT + 5
        assert open_fence(text) is None, f"message ends inside a code block: ...{text[-60:]!r}"
    for text in texts[:-1]:
        assert text.endswith(("\n", "```", "~~~"))  # never mid-line: lines are short here

    sequence = " ".join(chat_methods(fake_slack))
    assert re.fullmatch(r"(chat\.startStream( chat\.appendStream)* chat\.stopStream ?)+", sequence)
    stops = fake_slack.calls_to("chat.stopStream")
    assert len(stops) == len(texts)
    assert [bool(stop.params.get("blocks")) for stop in stops] == [False] * (len(texts) - 1) + [True]
    for call in fake_slack.calls:
        assert len(call.streamed_text) <= 12_000


def test_long_answers_end_messages_at_paragraph_breaks(fake_slack: FakeSlack, make_sink) -> None:
    paragraphs = [f"Paragraph {i}: " + "lorem ipsum dolor " * 30 for i in range(60)]
    answer = "\n\n".join(paragraphs)
    sink = make_sink()
    for piece in pieces_of(answer, seed=1):
        sink.write(piece)
    sink.finish()
    texts = shown(fake_slack)
    assert "".join(texts) == answer
    assert len(texts) >= 3
    for text in texts[:-1]:
        assert text.endswith("\n\n")
    for text in texts[1:]:
        assert text.startswith("Paragraph ")


# --- fallback: post, then edit --------------------------------------------------------------


@pytest.mark.parametrize("refusal", ["not_allowed_token_type", "feature_not_enabled", "unknown_method"])
def test_falls_back_to_post_and_update_when_streaming_is_refused(
    fake_slack: FakeSlack, make_sink, clock, caplog, refusal: str
) -> None:
    fake_slack.refuse_streaming(refusal)
    sink = make_sink(update_interval=1.0)
    sink.show_status()
    with caplog.at_level(logging.INFO):
        sink.write("## Hello")
    assert f"native streaming unavailable in {CHANNEL} ({refusal})" in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    sink.write("\n\nFirst **part**")
    sink.write(" goes on")
    clock.advance(1.0)
    sink.write(", and on.")
    sink.write(" The end.")
    ts = sink.finish(note=NOTE)

    assert fake_slack.methods() == [
        "assistant.threads.setStatus",
        "chat.startStream",
        "chat.postMessage",
        "chat.update",
        "chat.update",
    ]
    post, first_update, final_update = fake_slack.calls[2:]
    assert post.params == {
        "channel": CHANNEL,
        "thread_ts": THREAD,
        "text": "*Hello*",
        "blocks": [{"type": "markdown", "text": "## Hello"}],
    }
    so_far = "## Hello\n\nFirst **part** goes on, and on."
    assert first_update.params == {
        "channel": CHANNEL, "ts": ts, "text": to_mrkdwn(so_far),
        "blocks": [{"type": "markdown", "text": so_far}],
    }
    whole = so_far + f" The end.\n\n_{NOTE}_"
    assert final_update.params == {
        "channel": CHANNEL, "ts": ts, "text": to_mrkdwn(whole),
        "blocks": [{"type": "markdown", "text": whole}, *FEEDBACK],
    }
    assert "**" not in final_update.params["text"]
    assert shown(fake_slack) == [whole]
    assert sink.text == so_far + " The end."


def test_streams_in_a_dm_without_recipients(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink(channel="D1", recipient_team_id="", recipient_user_id="")
    sink.write("Hi")
    sink.finish()
    assert fake_slack.calls[0].params == {"channel": "D1", "thread_ts": THREAD, "chunks": chunks("Hi")}
    assert fake_slack.thread_texts("D1", THREAD) == ["Hi"]


def test_falls_back_when_the_stream_has_no_recipient(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink(recipient_team_id="", recipient_user_id="")
    sink.write("Hi there")
    sink.finish()
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.postMessage", "chat.update"]
    assert fake_slack.calls[0].error == "missing_recipient_team_id"
    assert shown(fake_slack) == ["Hi there"]


def test_an_append_failing_midway_continues_in_a_posted_message_without_repeating(
    fake_slack: FakeSlack, make_sink, clock
) -> None:
    sink = make_sink(buffer_chars=10)
    sink.write("First words. ")
    fake_slack.fail_next("chat.appendStream", "message_not_in_streaming_state")
    sink.write("Second part. ")
    clock.advance(5)
    sink.write("Third part.")
    sink.finish()
    assert chat_methods(fake_slack) == [
        "chat.startStream", "chat.appendStream", "chat.stopStream", "chat.postMessage", "chat.update",
        "chat.update",
    ]
    assert shown(fake_slack) == ["First words. ", "Second part. Third part."]
    assert fake_slack.calls_to("chat.update")[-1].params["blocks"][-1] == FEEDBACK[0]


def test_a_30000_character_answer_arrives_whole_without_streaming(
    fake_slack: FakeSlack, make_sink, clock
) -> None:
    fake_slack.refuse_streaming()
    answer = long_answer(seed=5, size=30_000)
    sink = make_sink(update_interval=1.0)
    for index, piece in enumerate(pieces_of(answer, seed=2)):
        if index % 10 == 0:
            clock.advance(1.0)
        sink.write(piece)
    sink.finish()
    texts = shown(fake_slack)
    assert len(texts) >= 3
    assert undo_seams(texts) == answer
    for text in texts:
        assert len(text) <= MESSAGE_LIMIT + 5
        assert open_fence(text) is None
    for call in fake_slack.calls_to("chat.update") + fake_slack.calls_to("chat.postMessage"):
        assert call.ok
    assert fake_slack.calls_to("chat.update")[-1].params["blocks"][-1] == FEEDBACK[0]


def test_msg_too_long_on_update_posts_only_the_unsent_remainder(
    fake_slack: FakeSlack, make_sink, clock
) -> None:
    fake_slack.refuse_streaming()
    sink = make_sink()
    sink.write("Already shown. ")
    fake_slack.fail_next("chat.update", "msg_too_long")
    clock.advance(1)
    sink.write("Not shown yet.")
    sink.finish()
    assert chat_methods(fake_slack) == [
        "chat.startStream", "chat.postMessage", "chat.update", "chat.postMessage", "chat.update",
    ]
    second_post = fake_slack.calls_to("chat.postMessage")[1]
    assert second_post.params["blocks"] == [{"type": "markdown", "text": "Not shown yet."}]
    assert shown(fake_slack) == ["Already shown. ", "Not shown yet."]


def test_msg_too_long_on_post_splits_the_message(fake_slack: FakeSlack, make_sink) -> None:
    fake_slack.refuse_streaming()
    fake_slack.fail_next("chat.postMessage", "msg_too_long")
    answer = "\n\n".join(f"Paragraph {i} " + "text " * 20 for i in range(8))
    sink = make_sink()
    sink.write(answer)
    sink.finish(note="")
    posts = fake_slack.calls_to("chat.postMessage")
    assert [post.ok for post in posts] == [False, True, True]
    texts = shown(fake_slack)
    assert len(texts) == 2 and "".join(texts) == answer
    assert texts[0].endswith("\n\n")


# --- Slack errors ---------------------------------------------------------------------------


def test_ratelimited_calls_are_retried_after_retry_after(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink(buffer_chars=5)
    sink.write("One ")
    fake_slack.fail_next("chat.appendStream", "ratelimited", retry_after=0)
    sink.write("two three")
    sink.finish()
    appends = fake_slack.calls_to("chat.appendStream")
    assert [(call.status, call.streamed_text) for call in appends] == [
        (429, "two three"), (200, "two three"),
    ]
    assert shown(fake_slack) == ["One two three"]


@pytest.mark.parametrize(
    ("error", "hint"),
    [
        ("not_in_channel", "invite the bot to the channel"),
        ("channel_not_found", "the channel is gone or the bot cannot see it"),
        ("is_archived", "the channel is archived"),
    ],
)
def test_a_channel_the_bot_cannot_write_to_is_logged_not_raised(
    fake_slack: FakeSlack, make_sink, caplog, error: str, hint: str
) -> None:
    fake_slack.fail_next("chat.startStream", error)
    fake_slack.fail_next("chat.postMessage", error, times=2)
    sink = make_sink()
    with caplog.at_level(logging.INFO):
        sink.write("Hello")
        sink.write(" world " * 200)
        assert sink.finish(note=NOTE) == ""
        sink.fail("Sorry, something went wrong.")
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.postMessage", "chat.postMessage"]
    assert f"gave up answering in {CHANNEL}: chat_postMessage failed with {error} ({hint})" in caplog.text
    assert fake_slack.bot_token not in caplog.text
    assert sink.text == "Hello" + " world " * 200


def test_a_refused_token_is_logged_without_the_token(fake_slack: FakeSlack, make_sink, caplog) -> None:
    wrong_token = "xoxb-wrong-token"
    sink = make_sink(client=make_web_client(wrong_token, fake_slack.url))
    with caplog.at_level(logging.INFO):
        sink.show_status()
        sink.write("Hello")
        assert sink.finish() == ""
    assert "chat_postMessage failed with invalid_auth (copy the Bot User OAuth Token from" in caplog.text
    assert wrong_token not in caplog.text


def test_unreachable_slack_never_raises(make_sink, caplog) -> None:
    dead = FakeSlack().start()
    url = dead.url
    dead.stop()
    sink = make_sink(client=WebClient(token="xoxb-x", base_url=url, timeout=2, retry_handlers=[]))
    with caplog.at_level(logging.WARNING):
        sink.show_status()
        sink.write("Hello")
        assert sink.finish() == ""
        sink.fail("Sorry.")
    assert "URLError" in caplog.text


def test_status_errors_are_cosmetic(fake_slack: FakeSlack, make_sink) -> None:
    fake_slack.fail_next("assistant.threads.setStatus", "missing_scope")
    sink = make_sink()
    sink.show_status()
    sink.write("Answer")
    sink.finish()
    assert shown(fake_slack) == ["Answer"]


# --- fail and empty answers -----------------------------------------------------------------


def test_fail_ends_an_open_stream_with_the_message(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.write("Partial")
    sink.write(" answer")
    sink.fail("Something went wrong.")
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.stopStream"]
    assert "blocks" not in fake_slack.calls[-1].params
    assert shown(fake_slack) == ["Partial answer\n\nSomething went wrong."]
    assert sink.text == "Partial answer"


def test_fail_closes_an_open_code_block_first(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.write("Code:\n\n```python\nx = 1\n")
    sink.fail("Something went wrong.")
    assert shown(fake_slack) == ["Code:\n\n```python\nx = 1\n\n```\n\nSomething went wrong."]


def test_fail_edits_a_posted_answer(fake_slack: FakeSlack, make_sink) -> None:
    fake_slack.refuse_streaming()
    sink = make_sink()
    sink.write("Partial")
    sink.fail("Something went wrong.")
    assert chat_methods(fake_slack) == ["chat.startStream", "chat.postMessage", "chat.update"]
    assert shown(fake_slack) == ["Partial\n\nSomething went wrong."]


def test_fail_before_any_answer_clears_the_status_and_posts(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.show_status()
    sink.fail("Claude is busy right now.")
    assert fake_slack.methods() == [
        "assistant.threads.setStatus", "assistant.threads.setStatus", "chat.postMessage",
    ]
    assert fake_slack.calls[1].params["status"] == ""
    assert shown(fake_slack) == ["Claude is busy right now."]


def test_fail_after_finish_posts_a_new_message(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.write("The answer.")
    ts = sink.finish()
    sink.fail("_(I couldn't save this answer.)_")
    assert shown(fake_slack) == ["The answer.", "_(I couldn't save this answer.)_"]
    assert sink.finish() == ts


def test_finish_with_nothing_written_clears_the_status(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.show_status()
    assert sink.finish() == ""
    assert fake_slack.calls[-1].params["status"] == ""
    assert shown(fake_slack) == []


def test_finish_with_only_a_note_posts_the_note(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    ts = sink.finish(note=NOTE)
    assert shown(fake_slack) == [f"_{NOTE}_"]
    assert ts == sink.message_ts_list[0]


def test_a_message_never_starts_with_only_whitespace(fake_slack: FakeSlack, make_sink) -> None:
    sink = make_sink()
    sink.write("\n\n")
    assert fake_slack.calls == []
    sink.write("Hi")
    sink.finish()
    assert fake_slack.calls[0].streamed_text == "\n\nHi"
    assert sink.text == "\n\nHi"


def test_msg_too_long_on_the_final_update_posts_the_rest_with_the_feedback(
    fake_slack: FakeSlack, make_sink
) -> None:
    fake_slack.refuse_streaming()
    sink = make_sink()
    sink.write("Shown. ")
    sink.write("Rest.")
    fake_slack.fail_next("chat.update", "msg_too_long")
    sink.finish(note=NOTE)
    last_post = fake_slack.calls_to("chat.postMessage")[-1]
    assert last_post.params["blocks"] == [{"type": "markdown", "text": f"Rest.\n\n_{NOTE}_"}, *FEEDBACK]
    assert shown(fake_slack) == ["Shown. ", f"Rest.\n\n_{NOTE}_"]


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "posted and edited"])
def test_a_markdown_link_to_a_broadcast_never_pings(fake_slack: FakeSlack, make_sink, streaming) -> None:
    if not streaming:
        fake_slack.refuse_streaming()
    sink = make_sink()
    sink.write("See [everyone](!here) and [ops](!subteam^S1).")
    sink.finish()
    sent = json.dumps([call.params for call in fake_slack.calls], ensure_ascii=False)
    assert "See [everyone](!here)" in sent  # the markdown as written
    assert "<!" not in sent  # and no mrkdwn link that Slack reads as a broadcast
    assert sink.text == "See [everyone](!here) and [ops](!subteam^S1)."


@pytest.mark.parametrize("streaming", [True, False], ids=["streamed", "posted and edited"])
def test_broadcasts_the_model_writes_never_ping(fake_slack: FakeSlack, make_sink, streaming) -> None:
    if not streaming:
        fake_slack.refuse_streaming()
    sink = make_sink(buffer_chars=3)
    for piece in ["Hi <", "!cha", "nnel> and <!here|here>, <!subteam^S1|@ops>, @every", "one."]:
        sink.write(piece)
    sink.finish()
    shown_text = "".join(shown(fake_slack))
    for ping in ("<!channel>", "<!here", "<!subteam", "@everyone"):
        assert ping not in shown_text
    sent = json.dumps([call.params for call in fake_slack.calls], ensure_ascii=False)
    assert "<!" not in sent and "@everyone" not in sent
    assert shown_text.replace("\u200b", "") == "Hi <!channel> and <!here|here>, <!subteam^S1|@ops>, @everyone."
    assert sink.text == "Hi <!channel> and <!here|here>, <!subteam^S1|@ops>, @everyone."  # stored as written
