"""A downloaded file's bytes → what a model can read of it, or why it cannot be read.

Images are checked and, when over a limit or larger than Claude uses, downscaled and
re-encoded with Pillow; PDFs are checked (and read as text where the provider wants text)
with pypdf; office files get a signature check; text files are decoded and capped.
"""

from __future__ import annotations

import io
import logging
import zipfile
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot import messages as say
from bot.core.files import IMAGE_LONG_EDGE, IMAGE_MAX_PIXELS, FileRef
from bot.files.kinds import IMAGE_FORMATS, document_format
from bot.files.limits import FileLimits

if TYPE_CHECKING:
    from PIL import Image
    from pypdf import PdfReader

log = logging.getLogger(__name__)

_OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # .doc and .xls (Compound File Binary)
_JPEG_QUALITY = 85
_LOSSLESS_FORMATS = frozenset({"png", "gif", "bmp", "tiff"})


@dataclass(frozen=True)
class ImageFile:
    format: str  # png, jpeg, gif or webp
    data: bytes
    width: int
    height: int

    @property
    def media_type(self) -> str:
        return f"image/{self.format}"


@dataclass(frozen=True)
class DocumentFile:
    format: str  # pdf, doc, docx, xls, xlsx
    data: bytes
    pages: int = 0
    # The PDF's text, for providers that read documents only as text.
    text: str = ""


@dataclass(frozen=True)
class TextFile:
    text: str
    truncated: bool = False


@dataclass(frozen=True)
class Unreadable:
    reason: str


Prepared = ImageFile | DocumentFile | TextFile
Outcome = Prepared | Unreadable


def size_of(outcome: Outcome) -> int:
    """What an outcome holds in memory (the cache's measure)."""
    if isinstance(outcome, ImageFile):
        return len(outcome.data)
    if isinstance(outcome, DocumentFile):
        return len(outcome.data) + len(outcome.text)
    if isinstance(outcome, TextFile):
        return len(outcome.text)
    return len(outcome.reason)


def prepare(ref: FileRef, data: bytes, *, limits: FileLimits, pdf_text: bool = False) -> Outcome:
    if not data:
        return Unreadable(say.FILE_EMPTY)
    if ref.kind == "image":
        return prepare_image(data, limits=limits)
    if ref.kind == "document":
        fmt = document_format(mimetype=ref.mimetype, filetype=ref.filetype, name=ref.name)
        return prepare_document(fmt, data, limits=limits, pdf_text=pdf_text)
    if ref.kind == "text":
        return prepare_text(data, limits=limits)
    return Unreadable(say.FILE_NOT_READABLE)


def prepare_image(data: bytes, *, limits: FileLimits) -> Outcome:
    # Imported when the first file is prepared, not at start-up (a Lambda's cold start).
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            if image.width * image.height > limits.image_pixels:
                return Unreadable(say.FILE_TOO_LARGE.format(
                    limit=f"{limits.image_pixels // 1_000_000} megapixels"))
            image.load()
            return _fit(image, data, limits=limits)
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        return Unreadable(say.FILE_NOT_IMAGE)


def _fit(image: Image.Image, data: bytes, *, limits: FileLimits) -> ImageFile:
    """The image as sent: as it came when it is in a format and size Claude takes and uses
    whole, else upright, downscaled to Claude's useful size and re-encoded."""
    from PIL import Image, ImageOps

    fmt = (image.format or "").lower()
    fmt = "jpeg" if fmt == "mpo" else fmt  # phones' multi-picture JPEGs
    rotated = image.getexif().get(0x0112, 1) not in (0, 1)  # EXIF orientation
    if (fmt in IMAGE_FORMATS and not rotated and len(data) <= limits.image_bytes
            and max(image.size) <= IMAGE_LONG_EDGE
            and image.width * image.height <= IMAGE_MAX_PIXELS
            and not getattr(image, "is_animated", False)):
        return ImageFile(fmt, data, image.width, image.height)
    frame = ImageOps.exif_transpose(image)  # also takes the first frame of an animation
    frame.thumbnail(_target_size(frame.width, frame.height), Image.Resampling.LANCZOS)
    # Screenshots, diagrams and transparent images stay lossless; photos become JPEG.
    lossless = (fmt in _LOSSLESS_FORMATS or frame.mode in ("RGBA", "LA", "PA")
                or "transparency" in frame.info)
    quality = _JPEG_QUALITY
    while True:
        buffer = io.BytesIO()
        if lossless:
            frame.convert("RGBA").save(buffer, format="PNG", optimize=True)
            out = "png"
        else:
            frame.convert("RGB").save(buffer, format="JPEG", quality=quality, optimize=True)
            out = "jpeg"
        encoded = buffer.getvalue()
        if len(encoded) <= limits.image_bytes or quality < 55:
            return ImageFile(out, encoded, frame.width, frame.height)
        lossless, quality = False, quality - 15  # a PNG too large: JPEG, then lower quality


def _target_size(width: int, height: int) -> tuple[int, int]:
    scale = min(1.0, IMAGE_LONG_EDGE / max(width, height),
                (IMAGE_MAX_PIXELS / (width * height)) ** 0.5)
    return max(1, int(width * scale)), max(1, int(height * scale))


def prepare_document(fmt: str, data: bytes, *, limits: FileLimits, pdf_text: bool) -> Outcome:
    if len(data) > limits.document_bytes:
        return Unreadable(say.FILE_TOO_LARGE.format(limit=_megabytes(limits.document_bytes)))
    if fmt == "pdf":
        return _prepare_pdf(data, limits=limits, with_text=pdf_text)
    is_zip = fmt in ("docx", "xlsx")
    valid = zipfile.is_zipfile(io.BytesIO(data)) if is_zip else data.startswith(_OLE_SIGNATURE)
    if not valid:
        return Unreadable(say.FILE_NOT_DOCUMENT.format(format=fmt))
    return DocumentFile(fmt, data)


def _prepare_pdf(data: bytes, *, limits: FileLimits, with_text: bool) -> Outcome:
    if b"%PDF-" not in data[:1024]:
        return Unreadable(say.FILE_NOT_PDF)
    from pypdf import PdfReader

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            return Unreadable(say.FILE_ENCRYPTED)
        pages = len(reader.pages)
        text = _pdf_text(reader, limit=limits.text_chars) if with_text else ""
    except Exception as error:  # noqa: BLE001 - pypdf raises many kinds for a damaged file
        log.info("a PDF could not be read: %s", type(error).__name__)
        return Unreadable(say.FILE_NOT_PDF)
    if pages == 0:
        return Unreadable(say.FILE_NOT_PDF)
    return DocumentFile("pdf", data, pages=pages, text=text)


def _pdf_text(reader: PdfReader, *, limit: int) -> str:
    parts: list[str] = []
    size = 0
    for page in reader.pages:
        text = page.extract_text() or ""
        parts.append(text)
        size += len(text)
        if size >= limit:
            break
    return "\n\n".join(parts)[:limit]


def prepare_text(data: bytes, *, limits: FileLimits) -> Outcome:
    if b"\x00" in data[:8192]:
        return Unreadable(say.FILE_NOT_TEXT)
    text = data.decode("utf-8-sig", errors="replace")
    if text.count("\ufffd") > len(text) // 10:
        return Unreadable(say.FILE_NOT_TEXT)  # mostly not UTF-8: some binary format
    if len(text) > limits.text_chars:
        return TextFile(text[: limits.text_chars], truncated=True)
    return TextFile(text)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:g} MB"
