"""Horizontal scale: two bot processes behind a (simulated) load balancer share only the
DynamoDB table, yet every message is answered exactly once and every answer sees the whole
thread, whichever replica received which delivery."""

from __future__ import annotations

import threading

from tests.fakes.signing import app_mention, event_callback, message

CHANNEL = "C0SCALE"


def mention(ts: str, text: str, *, thread_ts: str | None = None, event_id: str | None = None) -> dict:
    event = app_mention(channel=CHANNEL, user="U_ANA", text=f"<@U_BOT> {text}", ts=ts,
                        thread_ts=thread_ts)
    return event_callback(event, event_id=event_id)


def post_at_once(deliveries: list[tuple]) -> list[int]:
    """(replica, payload, retry_num) each from its own thread, released together."""
    start = threading.Barrier(len(deliveries))
    statuses: list[int] = []

    def deliver(replica, payload, retry_num) -> None:
        start.wait()
        statuses.append(replica.post(payload, retry_num=retry_num)[0])

    threads = [threading.Thread(target=deliver, args=delivery) for delivery in deliveries]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return statuses


def test_duplicate_and_retried_deliveries_across_replicas_answer_once(
    start_replicas, fake_slack, fake_bedrock
):
    fake_bedrock.latency = 0.3  # the first delivery is still being answered when the others land
    first, second = start_replicas(2)
    roots = [f"17000000{index:02d}.000100" for index in range(6)]
    deliveries = []
    for index, ts in enumerate(roots):
        payload = mention(ts, f"question {index}")
        a, b = (first, second) if index % 2 else (second, first)
        # The original on one replica, a concurrent duplicate and Slack's retry on the other,
        # and the `message` event Slack also sends for a mention, on the first again.
        also_message = event_callback(message(channel=CHANNEL, user="U_ANA", ts=ts,
                                              text=f"<@U_BOT> question {index}"))
        deliveries += [(a, payload, None), (b, payload, None), (b, payload, 1),
                       (a, also_message, None)]
    assert set(post_at_once(deliveries)) == {200}

    fake_slack.wait_for("chat.stopStream", timeout=20, count=len(roots))
    for replica in (first, second):
        replica.terminate()  # graceful: lets any straggler finish before the counts are read
    for replica in (first, second):
        assert replica.wait(timeout=20) == 0
    assert len(fake_bedrock.requests) == len(roots)
    for index, ts in enumerate(roots):
        assert fake_slack.thread_texts(CHANNEL, ts) == [f"Answer to: question {index}"]


def test_a_thread_alternating_between_replicas_keeps_its_whole_history(
    start_replicas, fake_slack, fake_bedrock
):
    fake_bedrock.reply = lambda body: f"reply #{len(body['messages'])}"
    replicas = start_replicas(2)
    root = "1700000100.000100"
    turns = 6
    for turn in range(turns):
        ts = f"17000001{turn:02d}.000200" if turn else root
        payload = mention(ts, f"fact number {turn}", thread_ts=None if turn == 0 else root)
        replica = replicas[turn % 2]
        status, _ = replica.post(payload)
        assert status == 200
        fake_slack.wait_for("chat.stopStream", timeout=20, count=turn + 1)

    requests = fake_bedrock.requests
    assert len(requests) == turns
    for turn, request in enumerate(requests):
        # user/assistant pairs for every earlier turn, then this question.
        assert [m["role"] for m in request.messages] == ["user", "assistant"] * turn + ["user"]
        sent = fake_bedrock.all_text_sent(request)
        for earlier in range(turn + 1):
            assert f"fact number {earlier}" in sent
        for answer in range(turn):
            assert f"reply #{2 * answer + 1}" in sent
    assert len(fake_slack.thread_texts(CHANNEL, root)) == turns
