"""Threads no single DynamoDB item could hold, end to end through the bot: a 1,000-turn thread
and a 500 KB message, with the DynamoDB requests the bot makes counted at the HTTP client."""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from bot.core.records import StoredMessage
from bot.core.summary import INSTRUCTIONS
from bot.store.dynamodb import DynamoDBMessageStore
from tests.fakes.bedrock import validation_problem
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
