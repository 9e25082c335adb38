"""Markdown for Slack: mrkdwn conversion, markdown blocks, and safe splitting of long answers."""

from __future__ import annotations

import random
import re

import pytest

from bot.slack.formatting import (
    FEEDBACK_ACTION_ID,
    SLACK_MARKDOWN_LIMIT,
    Fence,
    feedback_blocks,
    find_cut,
    last_paragraph_break,
    markdown_blocks,
    open_fence,
    split_into_pieces,
    split_markdown,
    to_mrkdwn,
)

# --- to_mrkdwn ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("markdown", "expected", "absent"),
    [
        ("# Title", "*Title*", "#"),
        ("### Section", "*Section*", "###"),
        ("## **Bold heading**", "*Bold heading*", "**"),
        ("Some **bold** words", "Some *bold* words", "**"),
        ("Some __bold__ words", "Some *bold* words", "__"),
        ("an *italic* word", "an _italic_ word", "*italic*"),
        ("***both***", "*_both_*", "***"),
        ("- one\n- two", "• one\n• two", "- "),
        ("* one\n  * nested", "• one\n  • nested", "* "),
        ("1. first\n2. second", "1. first\n2. second", "**"),
        ("see [the docs](https://example.com/a)", "see <https://example.com/a|the docs>", "]("),
        ("~~gone~~", "~gone~", "~~"),
        ("a < b & c > d", "a &lt; b &amp; c &gt; d", " < "),
        ("> quoted **text**", "> quoted *text*", "&gt;"),
        ("`a<b`", "`a&lt;b`", "<b"),
        (
            "| Name | **Score** |\n|------|-------|\n| Ann | **10** |",
            "*Name* | *Score*\nAnn | *10*",
            "|---",
        ),
    ],
)
def test_to_mrkdwn_converts_each_construct(markdown: str, expected: str, absent: str) -> None:
    converted = to_mrkdwn(markdown)
    assert converted == expected
    assert absent not in converted


def test_to_mrkdwn_leaves_code_blocks_alone_but_escapes_control_characters() -> None:
    markdown = "Intro **bold**\n\n```python\nx = a ** b  # **not bold**\nif a < b: pass\n```"
    assert to_mrkdwn(markdown) == (
        "Intro *bold*\n\n```python\nx = a ** b  # **not bold**\nif a &lt; b: pass\n```"
    )


def test_to_mrkdwn_of_a_whole_answer_leaves_no_raw_markdown() -> None:
    answer = (
        "# Plan\n\n## **Steps**\n\n1. **Read** the [guide](https://example.com)\n"
        "2. Run `make`\n\n### Results\n\n| Step | **Time** |\n|---|---|\n| build | 3 s |\n\n"
        "- *fast*\n- **cheap**\n"
    )
    converted = to_mrkdwn(answer)
    assert "**" not in converted
    assert not re.search(r"^#", converted, re.MULTILINE)
    assert "<https://example.com|guide>" in converted


# --- markdown and feedback blocks -----------------------------------------------------------


def test_markdown_blocks_hold_standard_markdown() -> None:
    assert markdown_blocks("| a | b |\n|---|---|\n| 1 | 2 |") == [
        {"type": "markdown", "text": "| a | b |\n|---|---|\n| 1 | 2 |"}
    ]
    assert markdown_blocks("") == []


def test_markdown_blocks_refuse_more_than_a_payload_holds() -> None:
    assert len(markdown_blocks("x" * SLACK_MARKDOWN_LIMIT)[0]["text"]) == SLACK_MARKDOWN_LIMIT
    with pytest.raises(ValueError, match="split_markdown"):
        markdown_blocks("x" * (SLACK_MARKDOWN_LIMIT + 1))


def test_feedback_blocks_are_a_context_actions_block_with_feedback_buttons() -> None:
    assert feedback_blocks("Good", "Bad") == [
        {
            "type": "context_actions",
            "elements": [
                {
                    "type": "feedback_buttons",
                    "action_id": FEEDBACK_ACTION_ID,
                    "positive_button": {
                        "text": {"type": "plain_text", "text": "Good", "emoji": True},
                        "value": "positive",
                    },
                    "negative_button": {
                        "text": {"type": "plain_text", "text": "Bad", "emoji": True},
                        "value": "negative",
                    },
                }
            ],
        }
    ]


# --- fences ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "fence"),
    [
        ("plain", None),
        ("```python\ncode", Fence("```", "```python")),
        ("```python\ncode\n```\nafter", None),
        ("~~~\ncode\n```\nstill code", Fence("~~~", "~~~")),
        ("````md\n```\nnested\n```\n", Fence("````", "````md")),
        ("````md\n```\n````", None),
        ("```inline``` is not a fence", None),
        ("   ```sh\nindented fence", Fence("```", "   ```sh")),
        ("```\ncode\n```   ", None),
    ],
)
def test_open_fence_follows_commonmark_fences(text: str, fence: Fence | None) -> None:
    assert open_fence(text) == fence


# --- split_markdown -------------------------------------------------------------------------


def joined_bodies(text: str, limit: int) -> str:
    return "".join(piece.body for piece in split_into_pieces(text, limit))


def assert_parts_render(parts: list[str], limit: int) -> None:
    for part in parts:
        assert len(part) <= limit
        assert open_fence(part) is None, f"part ends inside a code block: ...{part[-80:]!r}"


def test_short_text_is_one_part() -> None:
    assert split_markdown("hello", 100) == ["hello"]
    assert split_markdown("", 100) == []


def test_splits_at_paragraph_breaks() -> None:
    paragraphs = [f"Paragraph {i} " + "word " * 8 for i in range(10)]
    text = "\n\n".join(paragraphs)
    parts = split_markdown(text, 200)
    assert "".join(parts) == text
    assert_parts_render(parts, 200)
    for part in parts[:-1]:
        assert part.endswith("\n\n")
    for part in parts[1:]:
        assert part.startswith("Paragraph ")


def test_splits_at_line_breaks_when_a_paragraph_is_too_long() -> None:
    text = "\n".join(f"line {i} " + "x" * 30 for i in range(30))
    parts = split_markdown(text, 300)
    assert "".join(parts) == text
    for part in parts[:-1]:
        assert part.endswith("\n")
        assert len(part) <= 300


def test_never_cuts_a_word_when_a_space_is_available() -> None:
    words = [f"w{i:03d}" * random.Random(i).randint(1, 5) for i in range(300)]
    text = " ".join(words)
    parts = split_markdown(text, 150)
    assert "".join(parts) == text
    for part in parts[:-1]:
        assert part.endswith(" ")
    assert {word for part in parts for word in part.split()} == set(words)


def test_a_word_longer_than_the_limit_is_cut_hard() -> None:
    text = "z" * 250
    assert split_markdown(text, 100) == ["z" * 100, "z" * 100, "z" * 50]


def test_prefers_a_paragraph_break_before_a_code_block_to_cutting_the_block() -> None:
    code = "```python\n" + "".join(f"print({i})\n" for i in range(20)) + "```\n"
    text = "Intro paragraph.\n\n" + code + "\nAfter."
    parts = split_markdown(text, len(code) + 10)
    assert parts[0] == "Intro paragraph.\n\n"
    assert parts[1].startswith(code)


def test_keeps_table_rows_together_when_a_paragraph_break_is_available() -> None:
    table = "| a | b |\n|---|---|\n" + "".join(f"| {i} | {i * i} |\n" for i in range(8))
    text = "Some intro text here.\n\n" + table + "\nTail."
    parts = split_markdown(text, len(table) + 5)
    assert parts[0] == "Some intro text here.\n\n"
    assert parts[1].startswith(table)


@pytest.mark.parametrize("opening", ["```python", "~~~", "````markdown", "```"])
def test_a_code_block_longer_than_the_limit_is_closed_and_reopened(opening: str) -> None:
    marker = re.match(r"[`~]+", opening).group(0)  # type: ignore[union-attr]
    code = "".join(f"value_{i} = compute({i})  # step\n" for i in range(60))
    text = f"Here it is:\n\n{opening}\n{code}{marker}\n\nDone."
    pieces = split_into_pieces(text, 400)
    parts = [piece.text for piece in pieces]
    assert "".join(piece.body for piece in pieces) == text
    assert_parts_render(parts, 400)
    reopened = [piece for piece in pieces if piece.reopen]
    assert len(reopened) >= 3
    for piece in reopened:
        assert piece.reopen == opening + "\n"
        assert piece.text.startswith(opening + "\n")
    for piece in pieces:
        if piece.close:
            assert piece.close.strip() == marker


def test_never_cuts_before_earliest() -> None:
    text = "para one\n\npara two\n\n" + "x " * 200
    cut = find_cut(text, 100, earliest=30)
    assert cut.index >= 30
    assert text[cut.index - 1] == " "


def test_cut_inside_code_closes_and_reopens_the_fence() -> None:
    text = "```js\n" + "let a = 1;\n" * 40
    cut = find_cut(text, 100)
    head = text[: cut.index] + cut.close
    assert len(head) <= 100 and open_fence(head) is None
    assert cut.close == "```" and cut.reopen == "```js\n"


def test_last_paragraph_break_ignores_blank_lines_inside_code() -> None:
    text = "one\n\n```\ncode\n\nmore code\n```\nafter"
    assert last_paragraph_break(text, start=0) == len("one\n\n")
    assert last_paragraph_break(text, start=6) is None
    assert last_paragraph_break("a\n\nb\n\n", start=0) == len("a\n\nb\n\n")


def long_answer(seed: int, size: int) -> str:
    """Prose, lists, tables and code blocks (some far longer than a message) in random order."""
    rng = random.Random(seed)
    blocks: list[str] = []
    while sum(len(block) for block in blocks) < size:
        kind = rng.random()
        if kind < 0.25:
            language = rng.choice(["python", "sql", "", "bash"])
            lines = rng.choice([5, 40, 120, 300])
            body = "".join(f"    result_{i} = handle(item_{i})  # {'x' * (i % 7)}\n" for i in range(lines))
            blocks.append(f"```{language}\n{body}```")
        elif kind < 0.35:
            rows = "".join(f"| row {i} | {rng.randint(0, 999)} |\n" for i in range(rng.randint(2, 30)))
            blocks.append("| name | value |\n|---|---|\n" + rows.rstrip("\n"))
        elif kind < 0.5:
            blocks.append("\n".join(f"- item **{i}** is fine" for i in range(rng.randint(2, 40))))
        else:
            words = rng.choices(["alpha", "beta", "**gamma**", "delta", "`eps`", "zeta"], k=rng.randint(5, 400))
            blocks.append("### Heading\n" + " ".join(words) if rng.random() < 0.2 else " ".join(words))
    return "\n\n".join(blocks)


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("limit", [SLACK_MARKDOWN_LIMIT, 11_000, 2_000])
def test_a_30000_character_answer_splits_into_parts_that_each_render(seed: int, limit: int) -> None:
    text = long_answer(seed, 30_000)
    assert 30_000 <= len(text) < 50_000
    pieces = split_into_pieces(text, limit)
    parts = [piece.text for piece in pieces]
    assert "".join(piece.body for piece in pieces) == text
    assert split_markdown(text, limit) == parts
    assert len(parts) >= -(-len(text) // limit)
    assert_parts_render(parts, limit)
    for before, after in zip(pieces, pieces[1:], strict=False):
        fence = open_fence(before.reopen + before.body)
        assert after.reopen == (fence.opening + "\n" if fence else "")
        assert before.close == ((("" if before.body.endswith("\n") else "\n") + fence.marker) if fence else "")


def test_limit_must_leave_room_for_fences() -> None:
    with pytest.raises(ValueError):
        split_markdown("x" * 100, 10)
