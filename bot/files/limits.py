"""What each provider can read of a file, and the limits a request must keep to.

Bedrock Converse (Claude): image blocks png, jpeg, gif, webp, each up to 3.75 MB and 8,000 px a
side, 20 a request; document blocks pdf, csv, doc, docx, xls, xlsx, html, txt, md, each up to
4.5 MB, 5 a request. The Anthropic API reads images and PDFs (base64); OpenAI-compatible
servers images (data URLs), and PDFs only as text extracted here.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.files.kinds import DOCUMENT_FORMATS

MB = 1_000_000


@dataclass(frozen=True)
class FileLimits:
    images_per_request: int = 20
    documents_per_request: int = 5
    image_bytes: int = 3_750_000
    image_side: int = 8000
    document_bytes: int = 4_500_000
    # A text file is read inline up to this many characters (about 15,000 tokens).
    text_chars: int = 60_000
    # The most a download may stream (FILE_DOWNLOAD_MAX_MB); images are downscaled after.
    download_bytes: int = 20 * MB
    # Larger images are refused before decoding (a "decompression bomb" of a few KB).
    image_pixels: int = 60_000_000


@dataclass(frozen=True)
class ProviderFiles:
    """What one provider is sent: images as image blocks, these document formats as document
    blocks, PDFs as extracted text, text files inline."""

    images: bool
    documents: frozenset[str]
    pdf_as_text: bool
    text: bool

    @property
    def reads_anything(self) -> bool:
        return self.images or bool(self.documents) or self.pdf_as_text or self.text


PROVIDER_FILES = {
    "bedrock": ProviderFiles(images=True, documents=DOCUMENT_FORMATS, pdf_as_text=False, text=True),
    "anthropic": ProviderFiles(images=True, documents=frozenset({"pdf"}), pdf_as_text=False,
                               text=True),
    "openai": ProviderFiles(images=True, documents=frozenset(), pdf_as_text=True, text=True),
    "local": ProviderFiles(images=False, documents=frozenset(), pdf_as_text=False, text=False),
}
