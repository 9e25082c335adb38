"""Real files for the file tests, made on the spot: images with Pillow, PDFs with pypdf."""

from __future__ import annotations

import io
import zipfile

from PIL import Image
from pypdf import PdfWriter


def png(width: int = 64, height: int = 48, *, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def noisy_jpeg(width: int, height: int) -> bytes:
    """A photo-like JPEG (noise does not compress), e.g. a large camera picture."""
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 80).convert("RGB").save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def pdf(pages: int = 2) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def docx() -> bytes:
    """The smallest zip a .docx check accepts (the model reads what Bedrock makes of it)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    return buffer.getvalue()


CORRUPT_PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog /Pages 2 0 R >>\nendobj\ngarbage\x00\xff" * 3
HTML_AS_PNG = b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>"
