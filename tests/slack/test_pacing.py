"""Edits are paced for the whole app: many answers streaming at once share one budget per Slack
method, and an answer that finds it spent loses no text, only the intermediate edits."""

from __future__ import annotations

from bot.slack.client import make_web_client
from bot.slack.pacing import CallBudget, SlackPacing
from bot.slack.reply import SlackReplySink
from tests.fakes.slack_api import FakeSlack
from tests.slack.test_reply import ManualClock


def test_a_budget_allows_a_burst_then_its_rate():
    clock = ManualClock()
    budget = CallBudget(60, burst=3, clock=clock)
    assert [budget.try_take() for _ in range(4)] == [True, True, True, False]
    clock.advance(1.0)  # 60 a minute: one more each second
    assert [budget.try_take(), budget.try_take()] == [True, False]
    clock.advance(3600)
    assert sum(budget.try_take() for _ in range(10)) == 3  # never more than the burst


def test_answers_streaming_at_once_share_the_append_budget(fake_slack: FakeSlack):
    clock = ManualClock()
    pacing = SlackPacing(appends=CallBudget(60, burst=2, clock=clock))
    client = make_web_client(fake_slack.bot_token, fake_slack.url)
    sinks = [
        SlackReplySink(client, channel=f"C{index}", thread_ts="1700000000.000100",
                       recipient_team_id="T1", recipient_user_id="U1", buffer_chars=400,
                       update_interval=1.0, clock=clock, pacing=pacing)
        for index in range(5)
    ]
    for sink in sinks:
        sink.write("Hello")  # starts each stream: not an edit, never held back
    for _ in range(3):
        clock.advance(1.0)
        for sink in sinks:
            sink.write(" and more")
    for sink in sinks:
        sink.finish()

    # 2 at once, then 1 a second (at 2 s and 3 s): 4 appends for 5 answers x 3 due edits.
    assert len(fake_slack.calls_to("chat.appendStream")) == 4
    for index in range(5):
        assert fake_slack.thread_texts(f"C{index}", "1700000000.000100") == [
            "Hello and more and more and more"]
