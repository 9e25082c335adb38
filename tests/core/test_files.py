"""The core's file rules: what is remembered, the token estimates, which files fit a budget,
and where a file's reference sits in the prompt."""

from __future__ import annotations

import pytest
from langchain_core.messages import HumanMessage

from bot.core.files import (
    FileRef,
    choose_within_budget,
    estimate_file_tokens,
    files_metadata,
    files_of,
    ref_of_block,
)
from bot.core.prompt import build_prompt
from bot.core.records import IncomingMessage, SessionKey, StoredMessage

SESSION = SessionKey("T1", "C1", "1.000100")


def image(file_id: str, w: int = 0, h: int = 0) -> FileRef:
    return FileRef(id=file_id, name=f"{file_id}.png", mimetype="image/png", kind="image",
                   width=w, height=h)


def test_metadata_keeps_references_and_never_the_live_details() -> None:
    ref = FileRef(id="F1", name="a b.pdf", mimetype="application/pdf", filetype="pdf", size=10,
                  kind="document", url="https://files.slack.com/x", needs_info=True)
    refused = FileRef(id="F2", name="x.png", kind="image", problem="elsewhere")
    metadata = files_metadata([ref, refused])
    assert files_of(metadata) == (ref,)
    assert "files.slack.com" not in metadata["files"]
    assert files_of({}) == () and files_of({"files": "not json"}) == ()
    assert files_of({"files": '[{"name": "no id"}, 3]'}) == ()


@pytest.mark.parametrize(("ref", "tokens"), [
    (image("a", 200, 200), 54),                   # (200 × 200) / 750
    (image("b", 1568, 1568), 1534),               # scaled to 1.15 megapixels first
    (image("c", 8000, 1000), 410),                # 1,568 × 196 after scaling
    (image("d"), 1533),                           # no size known: the most an image costs
    (FileRef(id="e", name="e.pdf", kind="document", size=500_000), 10_000),
    (FileRef(id="f", name="f.log", kind="text", size=4_000), 1_000),
    (FileRef(id="g", name="g.zip", kind="other", size=9_000_000), 20),
])
def test_token_estimates(ref: FileRef, tokens: int) -> None:
    assert estimate_file_tokens(ref) == pytest.approx(tokens, abs=2)


def test_the_current_files_always_go_and_the_oldest_are_left_out_first() -> None:
    current = [image("now", 1000, 1000)]
    earlier = [image("newer", 300, 300), image("old", 1000, 1000), image("oldest", 10, 10)]
    choice = choose_within_budget(current, earlier, room=1500)
    assert [r.id for r in choice.kept] == ["now", "newer"]
    # Once one is left out every older one is too, even one that would fit.
    assert [r.id for r in choice.left_out] == ["old", "oldest"]


def test_files_sit_after_the_text_of_their_message_and_survive_merging() -> None:
    history = [
        StoredMessage.human(ts="1.000100", text="first", metadata=files_metadata([image("F1")])),
        StoredMessage.human(ts="1.000200", text="", metadata=files_metadata([image("F2")])),
    ]
    question = IncomingMessage(SESSION, "1.000300", "U1", "what changed?", files=(image("F3"),))
    prompt = build_prompt(system_prompt="s", history=history, message=question, token_budget=10_000)

    [turn] = prompt.messages[1:]  # three person's turns in a row: merged into one
    assert isinstance(turn, HumanMessage)
    refs = [ref_of_block(b) for b in turn.content]
    assert [r.id if r else b["text"] for r, b in zip(refs, turn.content, strict=True)] == [
        "first", "F1", "F2", "what changed?", "F3"]
    assert "[file F2.png]" in turn.text  # a model without files reads a placeholder
