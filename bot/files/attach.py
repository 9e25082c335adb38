"""Put the thread's files into a prompt: choose those that fit the budget, fetch and prepare each
(behind the cache), and replace each reference by the provider's blocks or a placeholder.

The files of the message being answered always go (as its text does); earlier ones newest
first while their estimates fit what the text left of CONTEXT_TOKEN_BUDGET. A file that cannot
be read becomes `[file NAME: REASON]` for the model, and, on the message being answered, one
line for the person; the rest of the turn goes on.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Sequence
from typing import Protocol

from langchain_core.messages import BaseMessage

from bot import messages as say
from bot.core.files import FileRef, choose_within_budget, ref_of_block
from bot.core.prompt import Prompt
from bot.core.records import SessionKey
from bot.core.tokens import count_tokens
from bot.files.cache import PreparedFiles
from bot.files.kinds import document_format
from bot.files.limits import MB, FileLimits, ProviderFiles
from bot.files.prepare import DocumentFile, ImageFile, Outcome, Unreadable, prepare
from bot.model.attachments import Block, Renderer

log = logging.getLogger(__name__)

Place = tuple[int, int]  # (message index, block index) of a file's reference


class FileUnavailable(Exception):
    """The file's bytes could not be had; `reason` says why, in the person's words.
    `deleted`: Slack says the file no longer exists."""

    def __init__(self, reason: str, *, deleted: bool = False) -> None:
        super().__init__(reason)
        self.reason = reason
        self.deleted = deleted


class FileSource(Protocol):
    """Where a file's bytes come from (Slack: bot.slack.files.SlackFiles)."""

    def fetch(self, ref: FileRef, session: SessionKey, *, max_bytes: int) -> bytes:
        """The file's bytes, at most `max_bytes`; raises FileUnavailable."""
        ...


@dataclasses.dataclass
class _Request:
    """What one prompt has used of the per-request limits."""

    images: int = 0
    documents: int = 0
    document_names: set[str] = dataclasses.field(default_factory=set)


class PromptFiles:
    """The conversation's FileAttacher; one per process, shared by every turn."""

    def __init__(
        self, *, source: FileSource, provider: ProviderFiles, render: Renderer | None,
        cache: PreparedFiles, token_budget: int, limits: FileLimits | None = None,
    ) -> None:
        self._source = source
        self._provider = provider
        self._render = render
        self._cache = cache
        self._budget = token_budget
        self._limits = limits or FileLimits()

    def forget(self, file_id: str) -> None:
        """Slack deleted the file."""
        self._cache.forget(file_id)

    def evict(self, file_id: str) -> None:
        """Slack unshared the file somewhere: check where it is shared before sending it again."""
        self._cache.evict(file_id)

    def __call__(
        self, prompt: Prompt, session: SessionKey, *, token_budget: int | None = None
    ) -> tuple[Prompt, list[str]]:
        places = _file_places(prompt.messages)
        if not places:
            return prompt, []
        last = len(prompt.messages) - 1
        current = [(place, ref) for place, ref in places if place[0] == last]
        earlier = [(place, ref) for place, ref in reversed(places) if place[0] != last]
        room = (token_budget or self._budget) - count_tokens(prompt.messages)
        choice = choose_within_budget([r for _, r in current], [r for _, r in earlier], room=room)
        kept_earlier = len(choice.kept) - len(current)
        request = _Request()
        blocks: dict[Place, list[Block]] = {}
        skipped: list[tuple[str, str]] = []
        for place, ref in [*current, *earlier[:kept_earlier]]:
            blocks[place], reason = self._blocks_for(ref, session, request)
            if reason and place[0] == last:
                skipped.append((ref.name, reason))
        for place, ref in earlier[kept_earlier:]:
            blocks[place] = [_placeholder(ref.name, say.FILE_LEFT_OUT)]
        notes = [say.files_skipped(skipped)] if skipped else []
        if choice.left_out:
            notes.append(say.files_left_out(len(choice.left_out)))
        log.info("files for %s: %d images and %d documents sent, %d not read, %d left out",
                 session.id, request.images, request.documents, len(skipped),
                 len(choice.left_out))
        return dataclasses.replace(prompt, messages=_replaced(prompt.messages, blocks)), notes

    def _blocks_for(self, ref: FileRef, session: SessionKey, request: _Request
                    ) -> tuple[list[Block], str]:
        """The blocks standing for `ref`, and why it was not read ("" if it was)."""
        reason = self._refusal(ref, request)
        outcome: Outcome | None = None
        if not reason:
            outcome = self._outcome(ref, session)
            if isinstance(outcome, Unreadable):
                reason = outcome.reason
        if reason or outcome is None or isinstance(outcome, Unreadable) or self._render is None:
            return [_placeholder(ref.name, reason or say.FILE_NOT_READABLE)], reason
        if isinstance(outcome, ImageFile):
            request.images += 1
        elif isinstance(outcome, DocumentFile) and outcome.format in self._provider.documents:
            request.documents += 1
        return self._render(ref.name, outcome, request.document_names), ""

    def _refusal(self, ref: FileRef, request: _Request) -> str:
        """Why `ref` is not even fetched: known before a byte is downloaded."""
        limits = self._limits
        if ref.problem:
            return ref.problem
        if self._cache.is_gone(ref.id):
            return say.FILE_GONE
        as_document = self._as_document(ref)
        readable = ((ref.kind == "image" and self._provider.images)
                    or (ref.kind == "text" and self._provider.text)
                    or as_document or self._as_pdf_text(ref))
        if not readable:
            return say.FILE_NOT_READABLE
        if ref.size > limits.download_bytes:
            return say.FILE_TOO_LARGE.format(limit=f"{limits.download_bytes // MB} MB")
        if as_document and ref.size > limits.document_bytes:
            return say.FILE_TOO_LARGE.format(limit=f"{limits.document_bytes / MB:g} MB")
        if ref.kind == "image" and request.images >= limits.images_per_request:
            return say.FILE_TOO_MANY.format(count=limits.images_per_request, what="images")
        if as_document and request.documents >= limits.documents_per_request:
            return say.FILE_TOO_MANY.format(count=limits.documents_per_request, what="documents")
        return ""

    def _as_document(self, ref: FileRef) -> bool:
        return ref.kind == "document" and self._format(ref) in self._provider.documents

    def _as_pdf_text(self, ref: FileRef) -> bool:
        return ref.kind == "document" and self._provider.pdf_as_text and self._format(ref) == "pdf"

    @staticmethod
    def _format(ref: FileRef) -> str:
        return document_format(mimetype=ref.mimetype, filetype=ref.filetype, name=ref.name)

    def _outcome(self, ref: FileRef, session: SessionKey) -> Outcome:
        cached = self._cache.get(ref.id)
        if cached is not None:
            return cached
        try:
            data = self._source.fetch(ref, session, max_bytes=self._limits.download_bytes)
        except FileUnavailable as unavailable:
            if unavailable.deleted:
                self._cache.forget(ref.id)
            return Unreadable(unavailable.reason)  # not cached: the next turn tries again
        outcome = prepare(ref, data, limits=self._limits, pdf_text=self._provider.pdf_as_text)
        self._cache.put(ref.id, outcome)
        return outcome


def _placeholder(name: str, reason: str) -> Block:
    return {"type": "text", "text": say.file_placeholder(name, reason)}


def _file_places(messages: Sequence[BaseMessage]) -> list[tuple[Place, FileRef]]:
    places: list[tuple[Place, FileRef]] = []
    for m_index, message in enumerate(messages):
        if isinstance(message.content, list):
            for b_index, block in enumerate(message.content):
                ref = ref_of_block(block)
                if ref is not None:
                    places.append(((m_index, b_index), ref))
    return places


def _replaced(messages: Sequence[BaseMessage], blocks: dict[Place, list[Block]]) -> list[BaseMessage]:
    out: list[BaseMessage] = []
    for m_index, message in enumerate(messages):
        if not isinstance(message.content, list):
            out.append(message)
            continue
        content: list[str | dict] = []
        for b_index, block in enumerate(message.content):
            content.extend(blocks.get((m_index, b_index), [block]))
        out.append(message.model_copy(update={"content": content}))
    return out
