"""Files shared in a thread, as the core knows them: references (never bytes), what kind each
is, how many tokens it is likely to cost, and which of them fit a prompt's budget.

A stored message keeps its files' references in its metadata (`files`, JSON), so both stores
hold them without a schema of their own and an item never carries a file's bytes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

FileKind = Literal["image", "document", "text", "other"]
FILES_METADATA = "files"
# A content block that stands for a file until the provider's blocks replace it: a text block
# (so a model without files still reads a short placeholder) with the reference beside it.
FILE_REF_KEY = "slack_file"

# Claude scales an image down to about 1,568 px on its long edge and 1.15 megapixels, and an
# image costs about (width × height) / 750 tokens (docs.claude.com, "Vision").
IMAGE_LONG_EDGE = 1568
IMAGE_MAX_PIXELS = 1_150_000
IMAGE_TOKENS_UNKNOWN_SIZE = IMAGE_MAX_PIXELS // 750
# Documents are read as text (and, for PDFs, page images): about a token for every 50 bytes
# of an office file or PDF is a rough middle between text-only and image-heavy pages.
DOCUMENT_BYTES_PER_TOKEN = 50
CHARS_PER_TOKEN = 4
PLACEHOLDER_TOKENS = 20


@dataclass(frozen=True)
class FileRef:
    """One file of a message: what is remembered about it (id, name, mimetype, size, kind and
    an image's size) plus what only the event that shared it knows (`url`, `needs_info`,
    `problem`), which is never stored."""

    id: str
    name: str
    mimetype: str = ""
    filetype: str = ""
    size: int = 0
    kind: FileKind = "other"
    width: int = 0
    height: int = 0
    url: str = field(default="", compare=False)
    # Slack left the details out (`file_access: check_file_info`): files.info has them.
    needs_info: bool = field(default=False, compare=False)
    # Why the file must not be read at all (shared elsewhere); "" if it may be.
    problem: str = field(default="", compare=False)

    def to_record(self) -> dict[str, Any]:
        values = {"id": self.id, "name": self.name, "mime": self.mimetype, "type": self.filetype,
                  "size": self.size, "kind": self.kind, "w": self.width, "h": self.height}
        return {k: v for k, v in values.items() if v}

    @classmethod
    def from_record(cls, record: Mapping[str, Any]) -> FileRef | None:
        file_id = str(record.get("id") or "")
        if not file_id:
            return None
        kind = str(record.get("kind") or "other")
        return cls(
            id=file_id, name=str(record.get("name") or file_id),
            mimetype=str(record.get("mime") or ""), filetype=str(record.get("type") or ""),
            size=_int(record.get("size")),
            kind=kind if kind in ("image", "document", "text") else "other",  # type: ignore[arg-type]
            width=_int(record.get("w")), height=_int(record.get("h")),
        )


def files_metadata(files: Sequence[FileRef]) -> dict[str, str]:
    """The metadata entry that remembers `files` (those that may be read), or nothing."""
    kept = [ref.to_record() for ref in files if not ref.problem]
    if not kept:
        return {}
    return {FILES_METADATA: json.dumps(kept, ensure_ascii=False, separators=(",", ":"))}


def files_of(metadata: Mapping[str, str]) -> tuple[FileRef, ...]:
    """The files a stored message's metadata remembers; a damaged entry reads as none."""
    raw = metadata.get(FILES_METADATA)
    if not raw:
        return ()
    try:
        records = json.loads(raw)
    except ValueError:
        return ()
    if not isinstance(records, list):
        return ()
    refs = (FileRef.from_record(r) for r in records if isinstance(r, Mapping))
    return tuple(ref for ref in refs if ref is not None)


def file_block(ref: FileRef) -> dict[str, Any]:
    return {"type": "text", "text": f"[file {ref.name}]", FILE_REF_KEY: ref}


def ref_of_block(block: object) -> FileRef | None:
    if isinstance(block, dict):
        ref = block.get(FILE_REF_KEY)
        if isinstance(ref, FileRef):
            return ref
    return None


def estimate_file_tokens(ref: FileRef) -> int:
    """Tokens a file is likely to cost the prompt, before it is fetched."""
    if ref.kind == "image":
        if ref.width <= 0 or ref.height <= 0:
            return IMAGE_TOKENS_UNKNOWN_SIZE
        scale = min(1.0, IMAGE_LONG_EDGE / max(ref.width, ref.height),
                    math.sqrt(IMAGE_MAX_PIXELS / (ref.width * ref.height)))
        return max(1, math.ceil(ref.width * scale * ref.height * scale / 750))
    if ref.kind == "document":
        return max(PLACEHOLDER_TOKENS, ref.size // DOCUMENT_BYTES_PER_TOKEN)
    if ref.kind == "text":
        return max(PLACEHOLDER_TOKENS, ref.size // CHARS_PER_TOKEN)
    return PLACEHOLDER_TOKENS


@dataclass(frozen=True)
class FileChoice:
    kept: list[FileRef]
    # Older files left out because the budget was spent.
    left_out: list[FileRef]


def choose_within_budget(
    current: Sequence[FileRef], earlier_newest_first: Iterable[FileRef], *, room: int
) -> FileChoice:
    """The files a prompt sends: those of the message being answered always (as its text is),
    then earlier ones, newest first, while their estimates fit `room`; the oldest go first."""
    kept = list(current)
    spent = sum(estimate_file_tokens(ref) for ref in current)
    left_out: list[FileRef] = []
    for ref in earlier_newest_first:
        cost = estimate_file_tokens(ref)
        if left_out or spent + cost > room:
            left_out.append(ref)  # once one is left out, every older one is too
            continue
        kept.append(ref)
        spent += cost
    return FileChoice(kept, left_out)


def _int(value: object) -> int:
    try:
        return max(0, int(str(value)))
    except ValueError:
        return 0
