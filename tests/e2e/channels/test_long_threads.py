"""Threads no single DynamoDB item could hold, end to end through the bot: a 1,000-turn thread
and a 500 KB message, with the DynamoDB requests the bot makes counted at the HTTP client."""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

from bot.core.records import StoredMessage
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
    assert "I can see the last" in fake_slack.thread_texts(CHANNEL, THREAD)[-1]
    assert not fake_slack.calls_to("conversations.replies")  # the store knew the thread
    # "Is the bot part of this thread?" checks of one item each, then the budget's pages:
    # newest first, a page at a time, stopping when the budget is spent.
    assert 1 <= len(queries) <= 5
    assert all(query["ScanIndexForward"] is False and query.get("Limit") for query in queries)
    assert sum(query["Limit"] for query in queries) <= 100  # of 2,000 stored messages


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
