"""Bytes → what the model reads: real images through Pillow, real PDFs through pypdf."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from bot import messages as say
from bot.core.files import FileRef
from bot.files.limits import FileLimits
from bot.files.prepare import DocumentFile, ImageFile, TextFile, Unreadable, prepare
from tests.support import sample_files

LIMITS = FileLimits()


def ref(name: str, kind: str, mimetype: str = "") -> FileRef:
    return FileRef(id="F1", name=name, mimetype=mimetype, kind=kind)  # type: ignore[arg-type]


def gif(frames: int) -> bytes:
    images = [Image.new("RGB", (20, 20), (80 * i, 0, 0)) for i in range(frames)]
    buffer = io.BytesIO()
    images[0].save(buffer, format="GIF", save_all=True, append_images=images[1:])
    return buffer.getvalue()


def rotated_jpeg() -> bytes:
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to view"
    buffer = io.BytesIO()
    Image.new("RGB", (40, 20), (9, 9, 9)).save(buffer, format="JPEG", exif=exif)
    return buffer.getvalue()


def bmp() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (30, 10)).save(buffer, format="BMP")
    return buffer.getvalue()


def test_an_image_within_every_limit_is_sent_as_it_came() -> None:
    data = sample_files.png(100, 50)
    assert prepare(ref("a.png", "image"), data, limits=LIMITS) == ImageFile("png", data, 100, 50)


@pytest.mark.parametrize(("data", "fmt", "size"), [
    (sample_files.noisy_jpeg(4000, 3000), "jpeg", (1237, 928)),   # camera photo: 1.15 MP
    (sample_files.png(3000, 200), "png", (1560, 104)),          # long screenshot: within 1,568 px
    (gif(3), "png", (20, 20)),                                   # animation: its first frame
    (rotated_jpeg(), "jpeg", (20, 40)),                          # turned upright
    (bmp(), "png", (30, 10)),                                   # a format Claude does not take
])
def test_other_images_are_downscaled_or_re_encoded(data: bytes, fmt: str, size: tuple[int, int]):
    prepared = prepare(ref("x", "image"), data, limits=LIMITS)
    assert isinstance(prepared, ImageFile)
    assert (prepared.format, (prepared.width, prepared.height)) == (fmt, size)
    assert len(prepared.data) <= LIMITS.image_bytes
    with Image.open(io.BytesIO(prepared.data)) as decoded:
        assert decoded.size == size


def test_a_pdf_is_checked_and_its_pages_counted() -> None:
    data = sample_files.pdf(pages=4)
    assert prepare(ref("r.pdf", "document", "application/pdf"), data, limits=LIMITS) == \
        DocumentFile("pdf", data, pages=4)


@pytest.mark.parametrize(("name", "kind", "data", "reason"), [
    ("empty.png", "image", b"", say.FILE_EMPTY),
    ("page.png", "image", sample_files.HTML_AS_PNG, say.FILE_NOT_IMAGE),
    ("cut.png", "image", sample_files.png()[:40], say.FILE_NOT_IMAGE),
    ("bad.pdf", "document", sample_files.CORRUPT_PDF, say.FILE_NOT_PDF),
    ("not.pdf", "document", b"hello, I am text", say.FILE_NOT_PDF),
    ("fake.docx", "document", b"PK not a zip", say.FILE_NOT_DOCUMENT.format(format="docx")),
    ("big.pdf", "document", b"%PDF-1.7" + b"0" * 4_600_000,
     say.FILE_TOO_LARGE.format(limit="4.5 MB")),
    ("tool.bin", "text", b"\x7fELF\x00\x00\x01", say.FILE_NOT_TEXT),
    ("a.zip", "other", b"PK\x03\x04", say.FILE_NOT_READABLE),
])
def test_unreadable_files_say_why(name: str, kind: str, data: bytes, reason: str) -> None:
    assert prepare(ref(name, kind), data, limits=LIMITS) == Unreadable(reason)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_decompression_bomb_is_refused_before_it_is_decoded() -> None:
    data = sample_files.png(10_000, 10_000)  # 100 megapixels, a few hundred KB of PNG
    outcome = prepare(ref("bomb.png", "image"), data, limits=LIMITS)
    assert outcome == Unreadable(say.FILE_TOO_LARGE.format(limit="60 megapixels"))


def test_text_is_decoded_and_capped() -> None:
    assert prepare(ref("a.py", "text"), "print('héllo')\n".encode(), limits=LIMITS) == \
        TextFile("print('héllo')\n")
    capped = prepare(ref("big.log", "text"), b"x" * 70_000, limits=LIMITS)
    assert capped == TextFile("x" * 60_000, truncated=True)


def test_office_files_pass_a_signature_check() -> None:
    docx = sample_files.docx()
    outcome = prepare(FileRef(id="F", name="n.docx", kind="document"), docx, limits=LIMITS)
    assert outcome == DocumentFile("docx", docx)
