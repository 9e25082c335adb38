"""The messages the fake Slack holds, and the Block Kit rules it checks them against."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

# Limits from Slack's docs: chat.postMessage truncates/refuses text past 40,000 characters, a
# message's markdown blocks share 12,000 characters, and a section's text holds 3,000.
MAX_TEXT_CHARS = 40_000
MAX_MARKDOWN_CHARS = 12_000
MAX_SECTION_TEXT_CHARS = 3_000
MAX_BLOCKS = 50


@dataclass
class SlackMessage:
    """A message in a channel as a user would see it, after every update."""

    channel: str
    ts: str
    thread_ts: str | None = None
    text: str = ""
    blocks: list[dict[str, Any]] = field(default_factory=list)
    markdown_text: str = ""
    user: str | None = None
    bot_id: str | None = None
    kind: str = "message"  # "message", "stream" or "seeded"
    streaming: bool = False
    deleted: bool = False
    edits: int = 0
    metadata: dict[str, Any] | None = None
    raw: dict[str, Any] = field(default_factory=dict)

    @property
    def visible_text(self) -> str:
        """What Slack shows: the blocks' text when there are blocks, else the markdown or text."""
        if self.kind == "stream":
            return self.markdown_text
        shown = blocks_text(self.blocks)
        if shown:
            return shown
        return self.markdown_text or self.text

    @property
    def root_ts(self) -> str:
        return self.thread_ts or self.ts

    def as_api_message(self, *, team_id: str, bot_user_id: str, app_id: str) -> dict[str, Any]:
        """The message as conversations.replies and chat.* responses return it."""
        if self.kind == "seeded":
            return dict(self.raw)
        message: dict[str, Any] = {
            "user": self.user or bot_user_id,
            "type": "message",
            "ts": self.ts,
            "bot_id": self.bot_id,
            "app_id": app_id,
            "text": self.markdown_text if self.kind == "stream" else self.text,
            "team": team_id,
            "bot_profile": {
                "id": self.bot_id,
                "deleted": False,
                "name": "bot",
                "updated": 1700000000,
                "app_id": app_id,
                "icons": {"image_36": "https://a.slack-edge.com/36.png"},
                "team_id": team_id,
            },
            "blocks": self.blocks or [{"type": "markdown", "block_id": "md", "text": self.visible_text}],
        }
        if self.thread_ts and self.thread_ts != self.ts:
            message["thread_ts"] = self.thread_ts
        if self.edits:
            message["edited"] = {"user": message["user"], "ts": self.ts}
        if self.metadata:
            message["metadata"] = self.metadata
        return message


def ts_key(ts: str) -> Decimal:
    return Decimal(ts)


def blocks_text(blocks: list[dict[str, Any]]) -> str:
    """The readable text of markdown, section, header, context and rich_text blocks."""
    parts: list[str] = []
    for block in blocks:
        kind = block.get("type")
        if kind == "markdown":
            parts.append(block.get("text", ""))
        elif kind in ("section", "header"):
            if isinstance(block.get("text"), dict):
                parts.append(block["text"].get("text", ""))
            parts += [f.get("text", "") for f in block.get("fields", [])]
        elif kind == "context":
            parts += [e.get("text", "") for e in block.get("elements", []) if "text" in e]
        elif kind == "rich_text":
            parts.append(_rich_text(block.get("elements", [])))
    return "\n".join(part for part in parts if part)


def _rich_text(elements: list[dict[str, Any]]) -> str:
    out = []
    for element in elements:
        if "elements" in element:
            out.append(_rich_text(element["elements"]))
        elif element.get("type") == "text":
            out.append(element.get("text", ""))
        elif element.get("type") == "user":
            out.append(f"<@{element.get('user_id')}>")
        elif element.get("type") == "link":
            out.append(element.get("text") or element.get("url", ""))
    return "".join(out)


def blocks_problem(blocks: list[dict[str, Any]]) -> str | None:
    """Why Slack would refuse these blocks for length, or None."""
    if len(blocks) > MAX_BLOCKS:
        return f"no more than {MAX_BLOCKS} items allowed [json-pointer:/blocks]"
    markdown_total = 0
    for index, block in enumerate(blocks):
        if block.get("type") == "markdown":
            markdown_total += len(block.get("text", ""))
            if markdown_total > MAX_MARKDOWN_CHARS:
                return (
                    f"markdown blocks must have no more than {MAX_MARKDOWN_CHARS} characters "
                    f"in total [json-pointer:/blocks/{index}/text]"
                )
        section_text = block.get("text") if block.get("type") == "section" else None
        if isinstance(section_text, dict) and len(section_text.get("text", "")) > MAX_SECTION_TEXT_CHARS:
            return (
                f"must be less than {MAX_SECTION_TEXT_CHARS + 1} characters "
                f"[json-pointer:/blocks/{index}/text/text]"
            )
    return None


def chunks_markdown(chunks: list[dict[str, Any]] | None) -> str:
    """The markdown a chat.*Stream call appends through `chunks` ({"type": "markdown_text"})."""
    return "".join(c.get("text", "") for c in chunks or [] if c.get("type") == "markdown_text")
