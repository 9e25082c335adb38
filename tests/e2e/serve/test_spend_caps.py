"""DAILY_TOKENS_PER_USER across two bot processes sharing one DynamoDB Local table: a person's
usage on one replica caps them on the other, with one private line and no model call; admins
are never capped; the next UTC day starts afresh."""

from __future__ import annotations

import time
from typing import Any

from bot.core.usage import utc_day
from tests.e2e.conftest import scan_table
from tests.fakes.signing import app_mention, event_callback

CHANNEL = "C0CAPS"


def mention(ts: str, text: str, *, user: str = "U_ANA") -> dict:
    return event_callback(app_mention(channel=CHANNEL, user=user, text=f"<@U_BOT> {text}", ts=ts))


def wait_for_counters(client: Any, table: str, count: int) -> None:
    """The answer's usage is added after its stream closed: wait until the counters hold it."""
    today = f"meta#usage#{utc_day(time.time())}"
    deadline = time.monotonic() + 30
    while sum(i["SessionId"]["S"] == today for i in scan_table(client, table)) < count:
        assert time.monotonic() < deadline, "no usage counter was written"
        time.sleep(0.05)


def as_if_midnight_passed(client: Any, table: str) -> int:
    """Today's counters become yesterday's, as they are once the UTC day is over."""
    today = f"meta#usage#{utc_day(time.time())}"
    yesterday = f"meta#usage#{utc_day(time.time() - 86400)}"
    moved = [item for item in scan_table(client, table) if item["SessionId"]["S"] == today]
    for item in moved:
        client.put_item(TableName=table, Item={**item, "SessionId": {"S": yesterday}})
        client.delete_item(TableName=table, Key={"SessionId": item["SessionId"],
                                                 "MessageKey": item["MessageKey"]})
    return len(moved)


def test_a_cap_reached_on_one_replica_holds_on_the_other_until_the_day_is_over(
    start_replicas, fake_slack, fake_bedrock, dynamodb_client, table_name
):
    first, second = start_replicas(2, DAILY_TOKENS_PER_USER="1", ADMIN_USER_IDS="U_BOSS")

    first.post(mention("1700000001.000100", "first question"))
    fake_slack.wait_for("chat.stopStream", timeout=30)
    assert len(fake_bedrock.requests) == 1
    wait_for_counters(dynamodb_client, table_name, 1)

    second.post(mention("1700000002.000100", "second question"))
    told = fake_slack.wait_for("chat.postEphemeral", timeout=30).params
    assert (told["user"], told["channel"], told["thread_ts"]) == ("U_ANA", CHANNEL, "1700000002.000100")
    assert told["text"].startswith("You've used today's allowance of 1 tokens with me")
    assert "resets at midnight UTC (in " in told["text"]

    second.post(mention("1700000003.000100", "from the boss", user="U_BOSS"))
    fake_slack.wait_for("chat.stopStream", timeout=30, count=2)
    # The capped question made no model call; the admin's did.
    assert [m["content"][0]["text"] for r in fake_bedrock.requests for m in r.messages[-1:]] == [
        "first question", "from the boss"]

    wait_for_counters(dynamodb_client, table_name, 2)
    assert as_if_midnight_passed(dynamodb_client, table_name) == 2
    first.post(mention("1700000004.000100", "a new day"))
    fake_slack.wait_for("chat.stopStream", timeout=30, count=3)
    assert len(fake_bedrock.requests) == 3
    assert len(fake_slack.calls_to("chat.postEphemeral")) == 1

    # The capped question is remembered all the same (a later answer in its thread sees it).
    items = scan_table(dynamodb_client, table_name)
    assert any(i["SessionId"]["S"] == f"T1:{CHANNEL}:1700000002.000100" and "Role" in i
               for i in items)
