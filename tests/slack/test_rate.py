"""One person's messages a minute, and people's names looked up per message."""

from __future__ import annotations

from bot.slack.client import make_web_client
from bot.slack.rate import PersonalRateLimit
from bot.slack.users import UserNames


class Clock:
    now = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now


def test_the_limit_admits_so_many_a_minute_and_says_so_once():
    clock = Clock()
    limit = PersonalRateLimit(3, clock=clock)
    assert [limit.admit("U1") for _ in range(5)] == [
        (True, False), (True, False), (True, False), (False, True), (False, False)]
    assert limit.admit("U2") == (True, False)  # per person
    clock.now += 60
    assert limit.admit("U1") == (True, False)  # a new minute


def test_no_limit_by_default():
    limit = PersonalRateLimit(0)
    assert all(limit.admit("U1") == (True, False) for _ in range(1000))


def test_names_are_asked_of_slack_for_so_many_people_a_message(fake_slack):
    names = UserNames(make_web_client(fake_slack.bot_token, fake_slack.url))
    name_of = names.for_one_message(most=3)
    shown = [name_of(f"U{n}") for n in range(10)] + [name_of("U1")]
    assert shown == [f"User U{n}" for n in range(3)] + [f"U{n}" for n in range(3, 10)] + ["User U1"]
    assert len(fake_slack.calls_to("users.info")) == 3
