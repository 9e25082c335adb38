"""Each provider's content blocks for a prepared file (see the README's provider table).

- Bedrock Converse: `image` and `document` blocks with raw bytes (boto3 encodes them); a
  document's name may hold only letters, digits, single spaces, hyphens, parentheses and
  square brackets, and must be unique within a request.
- Anthropic Messages API: base64 `image` and `document` blocks.
- OpenAI-compatible servers: `image_url` blocks with data URLs; a PDF as its text.
Every provider that reads text gets a text file inline, headed by its name.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable
from typing import Any

from bot import messages as say
from bot.files.prepare import DocumentFile, ImageFile, Prepared, TextFile

Block = dict[str, Any]
Renderer = Callable[[str, Prepared, set[str]], list[Block]]

_NOT_IN_DOCUMENT_NAMES = re.compile(r"[^A-Za-z0-9\s\-()\[\]]+")
_DOCUMENT_NAME_CHARS = 100


def label(name: str) -> Block:
    return {"type": "text", "text": f"[file {name}]"}


def placeholder(name: str, reason: str) -> Block:
    return {"type": "text", "text": say.file_placeholder(name, reason)}


def text_block(name: str, text: str, *, truncated: bool = False) -> Block:
    body = f'<file name="{name}">\n{text}\n</file>'
    if truncated:
        body += "\n" + say.FILE_TRUNCATED.format(chars=len(text), name=name)
    return {"type": "text", "text": body}


def document_name(name: str, taken: set[str]) -> str:
    """A name Bedrock accepts for a document, unique among `taken` (which it joins)."""
    stem = name.rsplit(".", 1)[0] if "." in name.strip(".") else name
    cleaned = " ".join(_NOT_IN_DOCUMENT_NAMES.sub(" ", stem).split())[:_DOCUMENT_NAME_CHARS]
    cleaned = cleaned.strip() or "document"
    unique, number = cleaned, 2
    while unique.lower() in taken:
        unique, number = f"{cleaned} ({number})", number + 1
    taken.add(unique.lower())
    return unique


def render_bedrock(name: str, prepared: Prepared, names: set[str]) -> list[Block]:
    if isinstance(prepared, ImageFile):
        return [label(name), {"image": {"format": prepared.format,
                                        "source": {"bytes": prepared.data}}}]
    if isinstance(prepared, DocumentFile):
        document = {"format": prepared.format, "name": document_name(name, names),
                    "source": {"bytes": prepared.data}}
        # Converse wants a text block beside a document: the label is one.
        return [label(name), {"document": document}]
    return [text_block(name, prepared.text, truncated=prepared.truncated)]


def render_anthropic(name: str, prepared: Prepared, names: set[str]) -> list[Block]:
    if isinstance(prepared, ImageFile):
        source = {"type": "base64", "media_type": prepared.media_type, "data": _b64(prepared.data)}
        return [label(name), {"type": "image", "source": source}]
    if isinstance(prepared, DocumentFile):
        source = {"type": "base64", "media_type": "application/pdf", "data": _b64(prepared.data)}
        return [label(name), {"type": "document", "source": source, "title": name}]
    return [text_block(name, prepared.text, truncated=prepared.truncated)]


def render_openai(name: str, prepared: Prepared, names: set[str]) -> list[Block]:
    if isinstance(prepared, ImageFile):
        url = f"data:{prepared.media_type};base64,{_b64(prepared.data)}"
        return [label(name), {"type": "image_url", "image_url": {"url": url}}]
    if isinstance(prepared, DocumentFile):
        return [text_block(name, prepared.text)]
    if isinstance(prepared, TextFile):
        return [text_block(name, prepared.text, truncated=prepared.truncated)]
    raise TypeError(type(prepared).__name__)


RENDERERS: dict[str, Renderer] = {
    "bedrock": render_bedrock,
    "anthropic": render_anthropic,
    "openai": render_openai,
}


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
