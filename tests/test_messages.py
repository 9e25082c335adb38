"""The bot's own notes are recognised wherever they end up, so they are never read back as
what the model said (backfill, summaries)."""

from __future__ import annotations

import pytest

from bot import messages as say


@pytest.mark.parametrize("note", [
    say.context_note(12),
    say.summary_note(64, 46),
    say.files_skipped([("Screenshot (1).png", "not an image"), ("notes.zip", "not readable here")]),
    say.files_left_out(1),
    say.files_left_out(3),
    f"{say.summary_note(8, 20)} {say.files_skipped([('report (final).pdf', 'corrupt')])}",
])
def test_every_note_under_an_answer_is_a_notice(note: str) -> None:
    assert say.is_notice(f"_{note}_")
    assert say.without_notices(f"The answer.\n\n_{note}_") == "The answer."


def test_an_answer_that_mentions_a_note_is_no_notice() -> None:
    assert not say.is_notice("Summary: I can see the last 3 messages of this thread, says the bot.")


def test_a_note_cut_to_its_limit_is_still_a_notice_and_a_cut_answer_is_not() -> None:
    skipped = [(f"quarterly-report-draft-{index}-final.pdf", say.FILE_NO_ACCESS) for index in range(9)]
    note = say.short_note(" ".join([say.files_skipped(skipped), say.context_note(9)]))
    assert len(note) == say.NOTE_LIMIT and note.endswith(say.NOTE_CUT)
    assert say.is_notice(f"_{note}_")
    assert say.without_notices(f"The answer.\n\n_{note}_") == "The answer."
    prose = say.short_note("We could not finish the report because " + "of many reasons " * 40)
    assert len(prose) == say.NOTE_LIMIT and not say.is_notice(prose)
