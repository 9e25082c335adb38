"""Markdown for Slack: where a long answer may be cut, `markdown` blocks, mrkdwn fallbacks.

Pure functions only. An answer is cut at the best boundary available: a blank line (paragraph)
outside code blocks, then a line break, then a space; a code block longer than a part is closed
at the cut and reopened with the same language in the next part, so every part renders alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

from markdown_to_mrkdwn import SlackMarkdownConverter
from slack_sdk.models.blocks import ContextActionsBlock, FeedbackButtonObject, FeedbackButtonsElement

# Slack limits `markdown_text` (chat.*Stream, chat.postMessage) and the `markdown` block's text
# to 12,000 characters, cumulative over all markdown blocks of one payload.
SLACK_MARKDOWN_LIMIT = 12_000
_MIN_LIMIT = 64
FEEDBACK_ACTION_ID = "answer_feedback"

# CommonMark fences: 3+ backticks or tildes, indented at most 3 spaces.
_FENCE_LINE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)")
_TABLE_SEPARATOR = re.compile(r"\s*\|?\s*:?-+:?\s*(\|\s*:?-+:?\s*)*\|?\s*")
_HEADING = re.compile(r" {0,3}#{1,6}\s")
_BARE_HEADING = re.compile(r" {0,3}#{1,6}\s*")
_INLINE_CODE = re.compile(r"(`[^`\n]*`)")


@dataclass(frozen=True)
class Fence:
    """An open code fence: how to close it and how to reopen it identically."""

    marker: str
    opening: str


@dataclass(frozen=True)
class Cut:
    """Where a part ends: `text[:index] + close` is the part, `reopen + text[index:]` the rest."""

    index: int
    close: str = ""
    reopen: str = ""


@dataclass(frozen=True)
class Piece:
    """One part of a split answer; `body` pieces concatenated give back the original text."""

    reopen: str
    body: str
    close: str

    @property
    def text(self) -> str:
        return self.reopen + self.body + self.close


@dataclass(frozen=True)
class _Boundary:
    pos: int
    fence: Fence | None
    after_blank_line: bool
    inside_table: bool


def next_fence_state(line: str, fence: Fence | None) -> Fence | None:
    """The fence open after `line` (without its newline), given the one open before it."""
    match = _FENCE_LINE.fullmatch(line.rstrip("\r\n"))
    if match is None:
        return fence
    run, info = match.groups()
    if fence is None:
        if run[0] == "`" and "`" in info:  # ```code``` on one line is inline code, not a fence
            return None
        return Fence(marker=run, opening=line.rstrip("\r\n"))
    if run[0] == fence.marker[0] and len(run) >= len(fence.marker) and not info.strip():
        return None
    return fence


def open_fence(text: str) -> Fence | None:
    """The code fence still open at the end of `text`, if any."""
    fence: Fence | None = None
    for line in text.splitlines():
        fence = next_fence_state(line, fence)
    return fence


def _boundaries(text: str, end: int) -> Iterator[_Boundary]:
    """Every line start in (0, end], with the fence open there and what surrounds it."""
    fence: Fence | None = None
    start = 0
    while start < len(text):
        newline = text.find("\n", start)
        if newline == -1:
            return
        line = text[start:newline]
        fence = next_fence_state(line, fence)
        pos = newline + 1
        if pos > end:
            return
        following_end = text.find("\n", pos)
        following = text[pos:] if following_end == -1 else text[pos:following_end]
        yield _Boundary(
            pos=pos,
            fence=fence,
            after_blank_line=not line.strip(),
            inside_table=line.lstrip().startswith("|") and following.lstrip().startswith("|"),
        )
        start = pos


def last_paragraph_break(text: str, *, start: int, end: int | None = None) -> int | None:
    """The last blank-line boundary outside code blocks within [start, end], if any."""
    found = None
    for boundary in _boundaries(text, len(text) if end is None else end):
        if boundary.pos >= start and boundary.fence is None and boundary.after_blank_line:
            found = boundary.pos
    return found


def find_cut(text: str, limit: int, *, earliest: int = 1) -> Cut:
    """Where to end a part of at most `limit` characters that starts at the beginning of `text`.

    Boundaries are ranked: a paragraph break, then a line break, in the second half of the
    part; the same in the first half; a line break inside a table; a line break inside a code
    block (closing and reopening the fence); a space; finally a hard cut. The cut is never
    before `earliest` (text already sent elsewhere), even if that leaves no room.
    """
    boundaries = [b for b in _boundaries(text, limit) if b.pos >= earliest]
    half = max(earliest, limit // 2)
    outside = [b for b in boundaries if b.fence is None]
    tiers = (
        [b for b in outside if b.after_blank_line and b.pos >= half],
        [b for b in outside if not b.inside_table and b.pos >= half],
        [b for b in outside if b.after_blank_line],
        [b for b in outside if not b.inside_table],
        outside,
    )
    for tier in tiers:
        if tier:
            return Cut(tier[-1].pos)
    inside = [b for b in boundaries if b.fence and b.pos + len(b.fence.marker) <= limit]
    if inside:
        fence = inside[-1].fence
        assert fence is not None
        return Cut(inside[-1].pos, close=fence.marker, reopen=_reopening(fence, limit))
    return _cut_inside_a_line(text, limit, earliest=earliest)


def _cut_inside_a_line(text: str, limit: int, *, earliest: int) -> Cut:
    """After the last space before `limit`, else at `limit`, closing a fence left open."""
    room = limit
    for _ in range(3):  # the close's length depends on where we cut, and the reverse
        space = max(text.rfind(" ", earliest, room), text.rfind("\t", earliest, room))
        index = space + 1 if space >= earliest else max(earliest, room)
        line_start = text.rfind("\n", 0, index) + 1
        fence = open_fence(text[:line_start])
        if fence is None:
            return Cut(index)
        close = ("" if line_start == index else "\n") + fence.marker
        if index + len(close) <= limit or room <= earliest:
            break
        room = max(earliest, limit - len(close))
    assert fence is not None  # the loop returns when no fence is open
    return Cut(index, close=close, reopen=_reopening(fence, limit))


def _reopening(fence: Fence, limit: int) -> str:
    # An absurdly long info string would leave no room for the code itself.
    opening = fence.opening if len(fence.opening) <= limit // 4 else fence.marker
    return opening + "\n"


def split_into_pieces(text: str, limit: int = SLACK_MARKDOWN_LIMIT) -> list[Piece]:
    """Cut `text` into pieces whose `.text` fits `limit` and renders on its own."""
    if limit < _MIN_LIMIT:
        raise ValueError(f"limit must be at least {_MIN_LIMIT} characters")
    pieces: list[Piece] = []
    reopen, rest = "", text
    while len(reopen) + len(rest) > limit:
        cut = find_cut(reopen + rest, limit, earliest=len(reopen) + 1)
        body_end = cut.index - len(reopen)
        pieces.append(Piece(reopen, rest[:body_end], cut.close))
        reopen, rest = cut.reopen, rest[body_end:]
    if rest:
        pieces.append(Piece(reopen, rest, ""))
    return pieces


def split_markdown(text: str, limit: int = SLACK_MARKDOWN_LIMIT) -> list[str]:
    """Cut markdown into parts of at most `limit` characters, each one rendering on its own."""
    return [piece.text for piece in split_into_pieces(text, limit)]


def markdown_blocks(text: str) -> list[dict]:
    """One `markdown` block: Slack renders standard markdown in it, tables included."""
    if not text:
        return []
    if len(text) > SLACK_MARKDOWN_LIMIT:
        raise ValueError(
            f"markdown blocks hold {SLACK_MARKDOWN_LIMIT} characters per message: "
            "split the text with split_markdown first"
        )
    return [{"type": "markdown", "text": text}]


def feedback_blocks(positive_label: str, negative_label: str) -> list[dict]:
    """Thumbs up/down under an answer; a click arrives as action `answer_feedback` with the
    value "positive" or "negative"."""
    buttons = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION_ID,
        positive_button=FeedbackButtonObject(text=positive_label, value="positive"),
        negative_button=FeedbackButtonObject(text=negative_label, value="negative"),
    )
    return [ContextActionsBlock(elements=[buttons]).to_dict()]


def to_mrkdwn(markdown: str) -> str:
    """Slack's older mrkdwn, for places that do not render markdown (notification `text`)."""
    # The converter keeps state between lines, so each call gets its own. Every `<` of the
    # text is escaped first, so a `<!` in its output is a link it built, and a link to
    # `!here` (`[x](!here)` gives `<!here|x>`) would ping the channel.
    return neutralize_broadcasts(SlackMarkdownConverter().convert(_prepare_for_mrkdwn(markdown)))


def _prepare_for_mrkdwn(markdown: str) -> str:
    """Escape Slack's control characters and drop bold markers the converter would leave raw."""
    lines = markdown.split("\n")
    fence: Fence | None = None
    prepared = []
    for index, line in enumerate(lines):
        inside_code = fence is not None
        fence = next_fence_state(line, fence)
        if inside_code or fence is not None:
            prepared.append(_escape(line))
            continue
        following = lines[index + 1] if index + 1 < len(lines) else ""
        is_table_header = line.lstrip().startswith("|") and _TABLE_SEPARATOR.fullmatch(following)
        # Headings and table headers become bold anyway; bold inside them would stay as `**`.
        if _HEADING.match(line) or is_table_header:
            line = line.replace("**", "").replace("__", "")
        prepared.append(_escape(_without_unfinished_markup(line)))
    return "\n".join(prepared)


def _without_unfinished_markup(line: str) -> str:
    """A streamed answer is shown while it is written: a heading marker with no text yet, or a
    `**` whose closing pair has not arrived, would stay raw in mrkdwn. Inline code is kept."""
    if _BARE_HEADING.fullmatch(line):
        return ""
    parts = _INLINE_CODE.split(line)  # odd indexes are code spans
    prose = parts[::2]
    if sum(part.count("**") for part in prose) % 2:
        last = max(i for i in range(0, len(parts), 2) if "**" in parts[i])
        head, _, tail = parts[last].rpartition("**")
        parts[last] = head + tail
    return "".join(parts)


def _escape(line: str) -> str:
    """&, < and > are control characters in mrkdwn; a leading > stays a block quote."""
    quote = re.match(r"(\s*>)+ ?", line)
    head = quote.group(0) if quote else ""
    body = line[len(head):].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return head + body


# What would ping a whole channel or a user group if the model wrote it (or a prompt-injected
# thread made it): `<!channel>`, `<!here>`, `<!everyone>`, `<!subteam^…>`, and @channel-style
# words. A zero-width space after the first character keeps the text readable and inert.
_BROADCASTS = ("<!", "@channel", "@here", "@everyone")
_INERT = "\u200b"


def neutralize_broadcasts(text: str) -> str:
    for pattern in _BROADCASTS:
        text = text.replace(pattern, pattern[0] + _INERT + pattern[1:])
    return text


def broadcast_prefix_at_end(text: str) -> int:
    """How many trailing characters could start a broadcast the next piece completes."""
    longest = 0
    for pattern in _BROADCASTS:
        for size in range(1, len(pattern)):
            if size > longest and text.endswith(pattern[:size]):
                longest = size
    return longest
