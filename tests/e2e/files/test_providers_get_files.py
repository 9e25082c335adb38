"""Issue 13: what each provider is sent for the same thread of files (the README's table):
Anthropic base64 image and document blocks, OpenAI-compatible data URLs and a PDF's text,
the offline model placeholders only."""

from __future__ import annotations

import base64

from bot.config import Settings
from bot.core.files import FileRef
from bot.core.prompt import build_prompt
from bot.core.records import IncomingMessage, SessionKey
from bot.wiring import build_prompt_files
from tests.e2e.files.conftest import CHANNEL, mention_with_files
from tests.support import sample_files

ROOT = "1700000300.000100"


def shared(fake_slack, pdf: bytes):
    chart = sample_files.png(50, 40)
    return chart, [
        fake_slack.seed_file("chart.png", chart, mimetype="image/png", channel=CHANNEL, ts=ROOT),
        fake_slack.seed_file("spec.pdf", pdf, mimetype="application/pdf", channel=CHANNEL, ts=ROOT),
        fake_slack.seed_file("notes.docx", sample_files.docx(), channel=CHANNEL, ts=ROOT,
                             mimetype="application/vnd.openxmlformats-officedocument."
                                      "wordprocessingml.document"),
    ]


def test_anthropic_gets_base64_image_and_document_blocks(start_files_bot, fake_slack, fake_anthropic):
    bot = start_files_bot(model_provider="anthropic", anthropic_api_key="sk-ant-test",
                          anthropic_base_url=fake_anthropic.url)
    pdf = sample_files.pdf()
    chart, files = shared(fake_slack, pdf)
    bot.post(mention_with_files(ROOT, "compare", files))
    bot.drain()

    [turn] = fake_anthropic.last_request.body["messages"]
    blocks = {b["type"]: b for b in turn["content"] if b["type"] in ("image", "document")}
    assert blocks["image"]["source"] == {"type": "base64", "media_type": "image/png",
                                         "data": base64.b64encode(chart).decode()}
    assert blocks["document"]["source"] == {"type": "base64", "media_type": "application/pdf",
                                            "data": base64.b64encode(pdf).decode()}
    texts = " ".join(b.get("text", "") for b in turn["content"])
    assert "[file notes.docx: not readable here]" in texts  # the API reads PDFs only


def test_openai_gets_a_data_url_and_the_pdf_as_text(start_files_bot, fake_slack, fake_openai):
    bot = start_files_bot(model_provider="openai", openai_base_url=fake_openai.url,
                          model_id="llava")
    pdf = _pdf_with_text("Quarterly revenue grew 12%")
    chart, files = shared(fake_slack, pdf)
    bot.post(mention_with_files(ROOT, "compare", files))
    bot.drain()

    turn = fake_openai.last_request.body["messages"][-1]
    urls = [b["image_url"]["url"] for b in turn["content"] if b["type"] == "image_url"]
    assert urls == ["data:image/png;base64," + base64.b64encode(chart).decode()]
    texts = "\n".join(b.get("text", "") for b in turn["content"])
    assert '<file name="spec.pdf">' in texts and "Quarterly revenue grew 12%" in texts
    assert "[file notes.docx: not readable here]" in texts


def test_the_offline_model_gets_placeholders_and_nothing_is_downloaded(fake_slack) -> None:
    settings = Settings(_env_file=None, slack_bot_token="xoxb-test-token",  # type: ignore[call-arg]
                        slack_api_url=fake_slack.url, model_provider="local",
                        slack_file_hosts=(f"127.0.0.1:{fake_slack.port}",))
    files = build_prompt_files(settings)
    assert files is not None
    session = SessionKey("T1", CHANNEL, ROOT)
    ref = FileRef(id="F1", name="chart.png", mimetype="image/png", kind="image",
                  url=f"{fake_slack.base_url}/files-pri/T1-F1/download/chart.png")
    question = IncomingMessage(session, ROOT, "U_ANA", "what is it?", files=(ref,))
    prompt = build_prompt(system_prompt="s", history=[], message=question, token_budget=9000)

    attached, notes = files(prompt, session)
    assert attached.messages[-1].text == "what is it?[file chart.png: not readable here]"
    assert notes == ["I couldn't read chart.png (not readable here)."]
    assert fake_slack.downloads == []


def _pdf_with_text(text: str) -> bytes:
    """A one-page PDF whose content stream draws `text` (pypdf reads it back)."""
    import io

    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    page = writer.add_blank_page(width=300, height=100)
    font = DictionaryObject({NameObject("/Type"): NameObject("/Font"),
                             NameObject("/Subtype"): NameObject("/Type1"),
                             NameObject("/BaseFont"): NameObject("/Helvetica")})
    page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): DictionaryObject(
        {NameObject("/F1"): writer._add_object(font)})})
    stream = DecodedStreamObject()
    stream.set_data(f"BT /F1 12 Tf 10 50 Td ({text}) Tj ET".encode())
    page[NameObject("/Contents")] = writer._add_object(stream)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()
