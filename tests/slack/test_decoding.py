"""The corpus through the decoder alone: Slack's text, and blocks-only messages."""

from __future__ import annotations

import pytest

from bot.slack.events import message_text
from bot.slack.text import decode_slack_text
from tests.support.corpus import CORPUS, NAMES, Case


def decode(case: Case) -> str:
    return decode_slack_text(message_text(case.event_fields()), bot_user_id="U_BOT",
                             name_of=lambda user: NAMES.get(user, user))


def test_the_corpus_covers_what_the_issue_names():
    assert len(CORPUS) >= 30
    assert len({case.name for case in CORPUS}) == len(CORPUS)
    assert sum(1 for case in CORPUS if not case.text) >= 5  # blocks-only messages


@pytest.mark.parametrize("case", CORPUS, ids=lambda case: case.name)
def test_exact_text(case: Case):
    assert decode(case) == case.expected


@pytest.mark.parametrize("case", [c for c in CORPUS if not c.text], ids=lambda case: case.name)
def test_blocks_decode_like_the_same_message_typed(case: Case):
    # What the blocks render to is Slack's own markup: sent as `text`, it decodes the same.
    typed = Case(case.name, message_text(case.event_fields()), case.expected)
    assert typed.text and decode(typed) == case.expected


def test_text_wins_over_blocks_when_both_are_sent():
    both = Case("both", "typed <@U_BO>", "typed @Bo",
                blocks=[{"type": "rich_text", "elements": [{"type": "rich_text_section",
                         "elements": [{"type": "text", "text": "something else"}]}]}])
    assert decode(both) == "typed @Bo"


@pytest.mark.parametrize("blocks", [None, "x", [None, 3, {"type": "rich_text", "elements": "x"}],
                                    [{"type": "rich_text", "elements": [{"type": "rich_text_list",
                                      "indent": "deep", "elements": [{}]}]}]])
def test_malformed_blocks_decode_to_what_they_hold_and_never_raise(blocks):
    assert isinstance(message_text({"text": "", "blocks": blocks}), str)
