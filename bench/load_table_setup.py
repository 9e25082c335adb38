"""Create one code tree's table for the load benchmark and write the threads' histories into it.

Run by bench/load_trees.py as `python -P bench/load_table_setup.py` with the tree (ours or the
baseline's checkout) as cwd and PYTHONPATH, the job as JSON on stdin:

    {"table": "...", "turns": 50, "question": "...", "answer": "...",
     "threads": [[session_id, user, index], ...]}

It imports only that tree's `bot` package, so each bot reads a table of its own schema, holding
items its own code would have written.
"""

from __future__ import annotations

import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3

from bot.core.records import StoredMessage
from bot.store.dynamodb_items import encode_message
from bot.store.table import create_table


def history_items(session_id: str, user: str, index: int, job: dict[str, Any]) -> list[Any]:
    """`turns` question/answer pairs of one thread, as the bot itself stores them."""
    now, items = time.time(), []
    for turn in range(job["turns"]):
        ts = f"{1700000000 + turn}.{index:06d}"
        question = StoredMessage.human(ts=ts, text=f"{job['question']} ({turn})",
                                       author_id=user, author_name=f"User {user}")
        answer = StoredMessage.answer(question_ts=ts, text=job["answer"], posted_ts=ts)
        for message in (question, answer):
            items += encode_message(session_id, message, created_at=now,
                                    expires_at=int(now) + 86400)
    return items


def write_items(client: Any, table: str, items: list[Any]) -> None:
    for start in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": i}} for i in items[start:start + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems")


def main() -> int:
    job = json.load(sys.stdin)
    client = boto3.client("dynamodb", endpoint_url=os.environ["DYNAMODB_ENDPOINT_URL"],
                          region_name=os.environ["AWS_REGION"])
    create_table(client, job["table"])

    def fill(thread: list[Any]) -> None:
        session_id, user, index = thread
        write_items(client, job["table"], history_items(session_id, user, index, job))

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(fill, job["threads"]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
