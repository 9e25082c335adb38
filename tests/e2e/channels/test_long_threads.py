"""Threads no single DynamoDB item could hold, end to end through the bot: a 1,000-turn thread
and a 500 KB message, with the DynamoDB requests the bot makes counted at the HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from bot import messages as say
from bot.core.records import StoredMessage
from bot.core.summary import INSTRUCTIONS
from bot.slack.formatting import feedback_blocks, markdown_blocks, to_mrkdwn
from bot.slack.metadata import notice_metadata
from bot.slack.reply import _note_markdown
from bot.store.dynamodb import DynamoDBMessageStore
from tests.fakes.bedrock import content_text, validation_problem
from tests.support.thread_events import CHANNEL, mention, reply, session_id

THREAD = "1700000000.000100"
TURNS = 1000


def turn_ts(turn: int) -> str:
    return f"{1700000000 + 10 * turn}.000100"


def write_long_thread(store: DynamoDBMessageStore, session: str) -> None:
    """1,000 questions and answers, written concurrently (as many replicas would)."""
    def write_turn(turn: int) -> int:
        ts = turn_ts(turn)
        return store.append(session, [
            StoredMessage.human(ts=ts, text=f"question {turn}: " + "word " * 40, author_id="U_ANA"),
            StoredMessage.answer(question_ts=ts, text=f"answer {turn}: " + "reply " * 40),
        ])

    with ThreadPoolExecutor(max_workers=8) as pool:
        assert sum(pool.map(write_turn, range(TURNS))) == 2 * TURNS


@contextmanager
def queries_of(client: Any, session: str) -> Iterator[list[dict[str, Any]]]:
    """The Query requests the client sends for `session` while the block runs."""
    seen: list[dict[str, Any]] = []

    def record(params: dict[str, Any], **_: Any) -> None:
        if params.get("ExpressionAttributeValues", {}).get(":s", {}).get("S") == session:
            seen.append(params)

    client.meta.events.register("before-parameter-build.dynamodb.Query", record)
    try:
        yield seen
    finally:
        client.meta.events.unregister("before-parameter-build.dynamodb.Query", record)


def test_a_1000_turn_thread_still_answers_with_a_bounded_prompt(
    start_bot, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    bot = start_bot(context_token_budget=3000)
    session = session_id(THREAD)
    write_long_thread(DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=3600), session)

    with queries_of(bot.deps.store.client, session) as queries:
        bot.post(reply(turn_ts(TURNS), "what was the last answer?", thread_ts=THREAD))
        bot.drain()

    request = fake_bedrock.last_request
    assert validation_problem(request.body) is None
    sent = fake_bedrock.all_text_sent(request)
    assert f"answer {TURNS - 1}:" in sent and "question 0:" not in sent
    assert len(sent) < 3000 * 4 * 1.2  # about 4 characters a token, within the budget
    # What left the window starts being summarised, a few pieces a turn, from the oldest.
    summaries = fake_bedrock.requests[:-1]
    assert 1 <= len(summaries) <= 3
    assert "question 0:" in fake_bedrock.all_text_sent(summaries[0])
    assert sent.startswith(f"{bot.deps.settings.system_prompt}\n[Summary of the "), sent[:600]
    assert "and a summary of the" in fake_slack.thread_texts(CHANNEL, THREAD)[-1]
    assert not fake_slack.calls_to("conversations.replies")  # the store knew the thread
    # "Is the bot part of this thread?" checks of one item each, then the budget's pages:
    # newest first, a page at a time, stopping when the budget is spent.
    history = [query for query in queries if query["ScanIndexForward"] is False]
    assert 1 <= len(history) <= 5
    assert all(query.get("Limit") for query in queries)
    assert sum(query["Limit"] for query in history) <= 100  # of 2,000 stored messages
    # The summary's read: oldest first, only what one turn summarises.
    oldest = [query for query in queries if query["ScanIndexForward"] is True]
    assert 1 <= len(oldest) <= 4 and sum(query["Limit"] for query in oldest) <= 200


def big_text(size: int) -> str:
    """Readable multi-byte text of at least `size` UTF-8 bytes (no Slack markup, no runs of
    spaces, which the bot would decode or squeeze)."""
    line = "Grüße aus Köln, 東京 and 🙂 — line {index:05d}\n"
    lines: list[str] = []
    total = 0
    while total < size:
        lines.append(line.format(index=len(lines)))
        total += len(lines[-1].encode())
    return "".join(lines).strip()


def test_a_500_kb_message_is_stored_in_parts_and_read_back_whole(
    start_bot, fake_bedrock, dynamodb_client, table_name
):
    bot = start_bot(context_token_budget=400_000)
    text = big_text(500 * 1024)
    session = session_id(THREAD)

    bot.post(mention(THREAD, text))
    bot.drain()
    bot.post(reply("1700000001.000100", "did you read all of it?", thread_ts=THREAD))
    bot.drain()

    stored = bot.deps.store.all(session)
    assert [(m.role, m.text == text) for m in stored[:1]] == [("human", True)]
    items = dynamodb_client.query(
        TableName=table_name, KeyConditionExpression="SessionId = :s",
        ExpressionAttributeValues={":s": {"S": session}}, ProjectionExpression="MessageKey",
    )["Items"]
    keys = [item["MessageKey"]["S"] for item in items]
    assert keys[:2] == [f"{stored[0].key}~p000", f"{stored[0].key}~p001"]  # split in two parts
    assert len(fake_bedrock.requests) == 2
    assert text in fake_bedrock.all_text_sent(fake_bedrock.requests[1])
    assert "did you read all of it?" in fake_bedrock.all_text_sent(fake_bedrock.requests[1])


def test_a_fact_from_the_start_of_a_long_thread_reaches_the_prompt_through_its_summary(
    start_bot, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    def replies(body):
        if body["system"][0]["text"].startswith("You keep the running summary"):
            sent = json.dumps(body["messages"])
            return "Summary: " + ("the code name is TAPIR" if "TAPIR" in sent else "small talk")
        return "An answer. " + "y" * 1200

    fake_bedrock.reply = replies
    bot = start_bot(context_token_budget=4000)
    bot.post(mention(THREAD, "Note this: the code name is TAPIR."))
    bot.drain()
    for turn in range(1, 30):
        bot.post(reply(turn_ts(turn), f"question {turn} " + "x" * 300, thread_ts=THREAD))
        bot.drain()

    last = fake_bedrock.last_request
    assert "code name is TAPIR" in fake_bedrock.all_text_sent(last)
    assert "Note this:" not in fake_bedrock.all_text_sent(last)  # summarised, not replayed
    item = dynamodb_client.get_item(
        TableName=table_name, Key={"SessionId": {"S": session_id(THREAD)},
                                   "MessageKey": {"S": "~summary"}})["Item"]
    assert item["Summary"]["S"] == "Summary: the code name is TAPIR"
    assert "and a summary of the" in fake_slack.thread_texts(CHANNEL, THREAD)[-1]
    summaries = [r for r in fake_bedrock.requests
                 if r.system_text.startswith("You keep the running summary")]
    assert 2 <= len(summaries) <= 10  # once per block that left, of 30 turns


def test_a_summary_due_at_the_next_message_is_made_after_the_answer_is_closed(
    start_bot, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    """Slack shows the answer as done (stream stopped, agent session active) before the
    summary the next turn needs is written, and the next turn then waits for none."""
    thread = "1700000001.000100"
    session = session_id(thread)
    store = DynamoDBMessageStore(dynamodb_client, table_name, ttl_seconds=3600)
    for turn in range(21):  # about 2,600 tokens: the next question still fits the 3,000
        ts = turn_ts(turn)
        store.append(session, [
            StoredMessage.human(ts=ts, text=f"question {turn}: " + "word " * 40, author_id="U_ANA"),
            StoredMessage.answer(question_ts=ts, text=f"answer {turn}: " + "reply " * 40),
        ])
    bot = start_bot(context_token_budget=3000, agent_sessions=True)
    # Long answers (after the first, the window must move), summaries of a line.
    fake_bedrock.reply = lambda body: ("SUMMARY: questions and answers."
                                       if body["system"][0]["text"] == INSTRUCTIONS
                                       else "A long answer. " * 200)

    bot.post(reply(turn_ts(21), "what now?", thread_ts=thread))
    bot.drain()

    systems = [r.system_text for r in fake_bedrock.requests]
    assert systems == [bot.deps.settings.system_prompt, INSTRUCTIONS]
    summary = fake_bedrock.requests[1]
    assert "question 0:" in fake_bedrock.all_text_sent(summary)
    [stopped] = fake_slack.calls_to("chat.stopStream")
    statuses = [c for c in fake_slack.calls_to("agents.sessions.setStatus")
                if c.params.get("thread_ts") == thread]
    assert [c.params["status"] for c in statuses] == ["processing", "active"]
    assert stopped.time < summary.time and statuses[-1].time < summary.time
    assert bot.deps.store.recent(session, token_budget=3000).state.summary.count > 0

    fake_bedrock.reset()
    bot.post(reply(turn_ts(22), "and then?", thread_ts=thread))
    bot.drain()
    answer = fake_bedrock.requests[0]  # no summary before it
    assert answer.system_text == bot.deps.settings.system_prompt
    assert fake_bedrock.all_text_sent(answer).startswith(
        f"{bot.deps.settings.system_prompt}\n[Summary of the ")


NOTICE_THREAD = "1700002000.000100"
BUDGET = 1500  # the thread is about 2,500 tokens: what leaves is summarised in one turn
SUMMARY_TEXT = "SUMMARY OF THE EARLIER MESSAGES."
PARTIAL = "a partial answer the model never finished"


def answer_posted(markdown: str) -> dict[str, Any]:
    """One of the bot's answers as reply.py leaves it in Slack: markdown, feedback buttons,
    no metadata (notes under it are part of its markdown)."""
    blocks = markdown_blocks(markdown) + feedback_blocks(say.FEEDBACK_POSITIVE,
                                                         say.FEEDBACK_NEGATIVE)
    return {"user": "U_BOT", "bot_id": "B_BOT", "app_id": "A1", "text": to_mrkdwn(markdown),
            "blocks": blocks}


def notice_posted(markdown: str) -> dict[str, Any]:
    """An error line, refusal or notice as reply.py posts it: the same shape, with
    notice_metadata() (SlackReplySink._post / _end_with / tell_privately)."""
    return {"user": "U_BOT", "bot_id": "B_BOT", "app_id": "A1", "text": to_mrkdwn(markdown),
            "blocks": markdown_blocks(markdown), "metadata": notice_metadata()}


NOTICE_LINES = (
    say.MODEL_BUSY,
    say.MODEL_FAILED,
    say.daily_cap_reached(50_000, hours=3, minutes=5),
    say.ANSWER_NOT_SAVED,
    say.GUARDRAIL_BLOCKED,
    say.NOT_ALLOWED,
    say.STORE_DOWN,
    say.SLOW_DOWN,
    say.MODEL_TOO_LONG,
    say.INTERRUPTED,
    say.files_skipped([("notes.bin", say.FILE_NOT_TEXT)]),
)
# Notes the bot writes under real answers, without metadata: never part of what it said.
ANSWER_NOTES = (say.context_note(7), say.STOPPED, say.summary_note(4, 9))


def seed_thread_with_notices(fake_slack) -> tuple[list[str], list[int]]:
    """A thread with people's messages, real answers, and the bot's notices among them.
    Returns the transcript a summary must be sent (`speaker: text`, oldest first), and where
    each notice stands in it (how many transcript lines come before it)."""
    names = {"U_ANA": "Ana", "U_BO": "Bo", "U_CY": "Cy"}
    for user_id, name in names.items():
        fake_slack.seed_user(user_id, display_name=name, real_name=name)
    thread: list[dict[str, Any]] = []
    transcript: list[str] = []
    notices_at: list[int] = []

    def person(user: str) -> None:
        text = f"person message {len(thread)} from {names[user]}: " + " ".join(["detail"] * 60)
        thread.append({"user": user, "text": text})
        transcript.append(f"{names[user]}: {text}")

    def answer(note: str = "") -> None:
        text = f"real answer {len(thread)}: " + " ".join(["reply"] * 60)
        thread.append(answer_posted(text + (f"\n\n_{note}_" if note else "")))
        transcript.append(f"Assistant: {text}")

    def notice(markdown: str) -> None:
        thread.append(notice_posted(markdown))
        notices_at.append(len(transcript))

    busy, failed, capped, unsaved, blocked, refused, down, slow, too_long, cut, files = (
        NOTICE_LINES)
    person("U_ANA")
    answer()
    person("U_BO")
    notice(busy)  # a model fault before the first word
    person("U_BO")
    answer(ANSWER_NOTES[0])
    person("U_ANA")
    notice(f"{PARTIAL}\n\n{failed}")  # cut short by a fault: marked as a whole (_end_with)
    person("U_CY")
    notice(capped)  # a refusal Slack would not post privately (tell_privately -> fail)
    person("U_ANA")
    answer()
    notice(unsaved)
    person("U_BO")
    notice(blocked)
    person("U_CY")
    notice(refused)
    person("U_ANA")
    answer(ANSWER_NOTES[1])
    person("U_BO")
    notice(down)
    person("U_ANA")
    notice(slow)
    person("U_ANA")
    answer(ANSWER_NOTES[2])
    person("U_CY")
    notice(too_long)
    person("U_BO")
    notice(f"{PARTIAL} again\n\n{cut}")
    person("U_ANA")
    notice(f"_{files}_")  # a note posted alone, with no answer above it (_close_answer)
    person("U_BO")
    answer()
    fake_slack.seed_thread(CHANNEL, NOTICE_THREAD, thread)
    return transcript, notices_at


# Texts that must reach no prompt: every notice line, the notes under answers, the part of
# an answer that a fault cut short.
NEVER_SENT = tuple(line.strip("_") for line in (*NOTICE_LINES, *ANSWER_NOTES, PARTIAL))


def test_summaries_and_prompts_never_hold_the_bots_notices_from_a_backfilled_thread(
    start_bot, fake_slack, fake_bedrock
):
    """A long thread the bot is first mentioned in: the messages that leave the window reach
    the summary request exactly (people's messages and real answers, in order), and neither
    it nor the answer's prompt holds an error line, refusal, notice or note of the bot's."""
    transcript, notices_at = seed_thread_with_notices(fake_slack)
    fake_bedrock.reply = lambda body: (SUMMARY_TEXT if body["system"][0]["text"] == INSTRUCTIONS
                                       else "An answer.")
    bot = start_bot(context_token_budget=BUDGET)

    bot.post(mention("1700009999.000100", "what did we settle?", thread_ts=NOTICE_THREAD))
    bot.drain()

    assert fake_slack.calls_to("conversations.replies")  # the thread was backfilled
    summaries = [r for r in fake_bedrock.requests if r.system_text == INSTRUCTIONS]
    answers = [r for r in fake_bedrock.requests if r.system_text != INSTRUCTIONS]
    assert summaries and len(answers) == 1
    (answer,) = answers
    assert answer.system_text == bot.deps.settings.system_prompt
    assert validation_problem(answer.body) is None
    # What the summary was sent: exactly the people's messages and answers that left.
    sent = [content_text(r.messages[0]["content"]).split("New messages, oldest first:\n", 1)[1]
            for r in summaries]
    covered = bot.deps.store.recent(session_id(NOTICE_THREAD),
                                    token_budget=BUDGET).state.summary.count
    assert 4 <= covered < len(transcript)
    assert "\n\n".join(sent) == "\n\n".join(transcript[:covered])
    assert any(t.startswith("Assistant: real answer") for t in transcript[:covered])
    for request in summaries:
        summary_sent = fake_bedrock.all_text_sent(request)
        assert [line for line in NEVER_SENT if line in summary_sent] == []
    # Notices stood among what was summarised, and among what the prompt replays.
    assert sum(at < covered for at in notices_at) >= 4
    assert sum(at > covered for at in notices_at) >= 4
    # The answer's prompt: the summary, then the rest of the thread exactly, no notice either.
    opening = content_text(answer.messages[0]["content"])
    assert opening.startswith("[Summary of the "), opening[:200]
    replayed = int(opening.removeprefix("[Summary of the ").split(" ", 1)[0])
    assert 4 <= replayed <= covered
    expected: list[tuple[str, str]] = []
    for line in [*transcript[replayed:], "Ana: what did we settle?"]:
        speaker, text = line.split(": ", 1)
        role, shown = ("assistant", text) if speaker == "Assistant" else ("user", line)
        if expected and expected[-1][0] == role:
            expected[-1] = (role, f"{expected[-1][1]}\n\n{shown}")
        else:
            expected.append((role, shown))
    header = f"[Summary of the {replayed} earlier messages of this thread]\n{SUMMARY_TEXT}\n\n"
    expected[0] = ("user", header + expected[0][1])
    assert [(m["role"], content_text(m["content"])) for m in answer.messages] == expected
    prompt = fake_bedrock.all_text_sent(answer)
    assert [line for line in NEVER_SENT if line in prompt] == []


def test_a_long_note_under_an_answer_is_not_summarised_as_part_of_it(
    start_bot, fake_slack, fake_bedrock
):
    """The notes under an answer, as long as reply.py lets them be (files not read, files
    left out, the context note), are not part of the answer when the thread is read back."""
    skipped = [(f"quarterly-report-draft-{index}-final.pdf", say.FILE_NO_ACCESS)
               for index in range(5)]
    notes = " ".join([say.files_skipped(skipped), say.files_left_out(2), say.context_note(9)])
    first = "real answer 1: " + " ".join(["reply"] * 60)
    thread: list[dict[str, Any]] = [{"user": "U_ANA", "text": "question 0: files attached"}]
    thread.append(answer_posted(first + _note_markdown(notes)))  # as SlackReplySink.finish
    for index in range(2, 24, 2):
        thread.append({"user": "U_ANA", "text": f"question {index}: " + " ".join(["word"] * 60)})
        thread.append(answer_posted(f"real answer {index + 1}: " + " ".join(["reply"] * 60)))
    fake_slack.seed_thread(CHANNEL, NOTICE_THREAD, thread)
    fake_slack.seed_user("U_ANA", display_name="Ana", real_name="Ana")
    fake_bedrock.reply = lambda body: (SUMMARY_TEXT if body["system"][0]["text"] == INSTRUCTIONS
                                       else "An answer.")
    bot = start_bot(context_token_budget=BUDGET)

    bot.post(mention("1700009999.000100", "what did we settle?", thread_ts=NOTICE_THREAD))
    bot.drain()

    summaries = [r for r in fake_bedrock.requests if r.system_text == INSTRUCTIONS]
    assert summaries
    for request in fake_bedrock.requests:
        text = fake_bedrock.all_text_sent(request)
        assert "I couldn't read" not in text and "quarterly-report-draft" not in text
        assert "I can see the last" not in text and "older files" not in text
    sent = content_text(summaries[0].messages[0]["content"])
    assert f"Ana: question 0: files attached\n\nAssistant: {first}\n\nAna: question 2: " in sent
