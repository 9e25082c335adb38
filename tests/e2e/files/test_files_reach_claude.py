"""Issue 13 end to end: files shared in a thread reach Claude as Converse image and document
blocks, from the asking message and from earlier ones (live or read from the thread), and are
remembered by reference: later turns send them again from the cache without downloading."""

from __future__ import annotations

import io

from PIL import Image

from tests.e2e.files.conftest import (
    CHANNEL,
    blocks_of,
    mention_with_files,
    reply,
    texts_of,
)
from tests.fakes.signing import assistant_thread_started, event_callback
from tests.support import sample_files

ROOT = "1700000100.000100"


def test_a_mention_with_an_image_and_a_pdf_sends_both_blocks(files_bot, fake_slack, fake_bedrock):
    chart, report = sample_files.png(64, 48), sample_files.pdf(pages=3)
    files = [
        fake_slack.seed_file("chart.png", chart, mimetype="image/png", channel=CHANNEL, ts=ROOT,
                             width=64, height=48),
        fake_slack.seed_file("Q3 report (final).pdf", report, mimetype="application/pdf",
                             channel=CHANNEL, ts=ROOT),
    ]
    files_bot.post(mention_with_files(ROOT, "what do these show?", files))
    files_bot.drain()

    sent = fake_bedrock.last_request
    [image] = blocks_of(sent, "image")
    [document] = blocks_of(sent, "document")
    assert (image["format"], image["bytes"]) == ("png", chart)
    assert (document["format"], document["name"], document["bytes"]) == (
        "pdf", "Q3 report (final)", report)
    assert "what do these show?" in texts_of(sent)
    assert "[file chart.png]" in texts_of(sent)
    downloads = fake_slack.downloads
    assert len(downloads) == 2 and all(d.authorized for d in downloads)
    assert not fake_slack.calls_to("files.info")  # the event had every detail


def test_a_file_is_remembered_by_reference_and_replayed_from_the_cache(
    files_bot, fake_slack, fake_bedrock, table_items
):
    chart = sample_files.png(80, 60)
    file = fake_slack.seed_file("chart.png", chart, mimetype="image/png", channel=CHANNEL, ts=ROOT)
    files_bot.post(mention_with_files(ROOT, "look", [file]))
    files_bot.drain()
    files_bot.post(reply("1700000101.000100", "and the colour?", thread_ts=ROOT))
    files_bot.drain()

    first, second = fake_bedrock.requests
    assert blocks_of(first, "image")[0]["bytes"] == chart
    assert blocks_of(second, "image")[0]["bytes"] == chart
    assert len(fake_slack.downloads_of(file["id"])) == 1
    messages, _ = table_items()
    question = next(m for m in messages if m["MessageKey"]["S"].endswith(f"{ROOT}#0"))
    assert file["id"] in question["Info"]["S"] and "chart.png" in question["Info"]["S"]
    assert len(question["Info"]["S"]) < 400  # a reference, never the bytes


def test_without_the_cache_each_turn_fetches_the_files_again_through_files_info(
    start_files_bot, fake_slack, fake_bedrock
):
    bot = start_files_bot(file_cache_mb=0)
    chart = sample_files.png()
    file = fake_slack.seed_file("chart.png", chart, mimetype="image/png", channel=CHANNEL, ts=ROOT)
    bot.post(mention_with_files(ROOT, "look", [file]))
    bot.drain()
    bot.post(reply("1700000101.000100", "again?", thread_ts=ROOT))
    bot.drain()

    assert blocks_of(fake_bedrock.requests[1], "image")[0]["bytes"] == chart
    assert len(fake_slack.downloads_of(file["id"])) == 2
    assert [c.params["file"] for c in fake_slack.calls_to("files.info")] == [file["id"]]


def test_files_of_a_thread_read_when_the_bot_joins_it_reach_claude(files_bot, fake_slack, fake_bedrock):
    photo = sample_files.png(30, 30, color=(0, 0, 255))
    shared = fake_slack.seed_file("photo.png", photo, mimetype="image/png", channel=CHANNEL,
                                  ts="1700000100.000200", thread_ts=ROOT)
    fake_slack.seed_thread(CHANNEL, ROOT, [
        {"user": "U_BO", "text": "here's the bug"},
        {"user": "U_BO", "text": "", "subtype": "file_share", "files": [shared],
         "ts": "1700000100.000200"},
    ])
    files_bot.post(mention_with_files("1700000100.000300", "what is in the photo?", [],
                                      thread_ts=ROOT))
    files_bot.drain()

    [image] = blocks_of(fake_bedrock.last_request, "image")
    assert image["bytes"] == photo
    assert "here's the bug" in texts_of(fake_bedrock.last_request)


def test_a_message_of_only_a_file_is_answered(files_bot, fake_slack, fake_bedrock):
    fake_bedrock.reply = "It is a red rectangle."
    file = fake_slack.seed_file("red.png", sample_files.png(), mimetype="image/png",
                                channel="D0DM", ts=ROOT)
    files_bot.post(reply(ROOT, "", thread_ts=ROOT, files=[file], channel="D0DM"))
    files_bot.drain()

    assert blocks_of(fake_bedrock.last_request, "image")
    assert fake_slack.thread_texts("D0DM", ROOT) == ["It is a red rectangle."]


def test_files_count_against_the_budget_and_the_oldest_are_left_out(
    start_files_bot, fake_slack, fake_bedrock
):
    bot = start_files_bot(context_token_budget=3000)  # room for two 1,000 px images, not three
    shots = []
    for turn in range(3):
        ts = f"1700000100.00{turn + 1}000"
        data = sample_files.png(1000, 1000, color=(turn * 100, 0, 0))
        shots.append(data)
        file = fake_slack.seed_file(f"shot{turn}.png", data, mimetype="image/png", channel=CHANNEL,
                                    ts=ts, thread_ts=ROOT, width=1000, height=1000)
        payload = (mention_with_files(ROOT, "first shot", [file]) if turn == 0 else
                   reply(ts, f"shot {turn}", thread_ts=ROOT, files=[file]))
        bot.post(payload)
        bot.drain()

    last = fake_bedrock.requests[-1]
    assert [b["bytes"] for b in blocks_of(last, "image")] == shots[1:]
    assert "[file shot0.png: left out to stay within the context budget]" in texts_of(last)
    answer = fake_slack.thread_texts(CHANNEL, ROOT)[-1]
    assert "I left out 1 older file of this thread to stay within my context budget." in answer


def test_a_large_photo_is_downscaled_before_it_is_sent(files_bot, fake_slack, fake_bedrock):
    photo = sample_files.noisy_jpeg(3000, 2000)
    file = fake_slack.seed_file("IMG_0001.JPG", photo, mimetype="image/jpeg", channel=CHANNEL,
                                ts=ROOT, width=3000, height=2000)
    files_bot.post(mention_with_files(ROOT, "what is this?", [file]))
    files_bot.drain()

    [image] = blocks_of(fake_bedrock.last_request, "image")
    decoded = Image.open(io.BytesIO(image["bytes"]))
    assert image["format"] == "jpeg" and decoded.format == "JPEG"
    assert max(decoded.size) <= 1568 and decoded.width * decoded.height <= 1_150_000
    assert len(image["bytes"]) < len(photo)


def test_office_files_go_as_documents_and_text_files_inline(files_bot, fake_slack, fake_bedrock):
    docx = sample_files.docx()
    files = [
        fake_slack.seed_file("notes v2.docx", docx, channel=CHANNEL, ts=ROOT,
                             mimetype="application/vnd.openxmlformats-officedocument."
                                      "wordprocessingml.document"),
        fake_slack.seed_file("Notes v2.docx", docx, mimetype="application/octet-stream",
                             channel=CHANNEL, ts=ROOT),
        fake_slack.seed_file("app.log", b"ERROR boom\nWARN again\n", mimetype="text/plain",
                             channel=CHANNEL, ts=ROOT),
        fake_slack.seed_file("data.csv", b"a,b\n1,2\n", mimetype="text/csv", channel=CHANNEL,
                             ts=ROOT),
    ]
    files_bot.post(mention_with_files(ROOT, "read all", files))
    files_bot.drain()

    sent = fake_bedrock.last_request
    documents = blocks_of(sent, "document")
    assert [(d["format"], d["name"]) for d in documents] == [
        ("docx", "notes v2"), ("docx", "Notes v2 (2)")]  # names unique within a request
    text = texts_of(sent)
    assert '<file name="app.log">\nERROR boom\nWARN again\n\n</file>' in text
    assert '<file name="data.csv">\na,b\n1,2\n\n</file>' in text


def test_a_file_shared_in_the_assistant_pane_reaches_claude(files_bot, fake_slack, fake_bedrock):
    pane, dm = "1700000400.000100", "D0DM"
    fake_slack.seed_thread(dm, pane, [
        {"user": "U_ANA", "subtype": "assistant_app_thread", "text": "Chats",
         "assistant_app_thread": {"title": "Chats"}},
    ])
    files_bot.post(event_callback(assistant_thread_started(
        user="U_ANA", channel=dm, thread_ts=pane, context_channel=CHANNEL)))
    files_bot.drain()
    diagram = sample_files.png(20, 20, color=(1, 2, 3))
    file = fake_slack.seed_file("diagram.png", diagram, mimetype="image/png", channel=dm,
                                ts="1700000400.000200", thread_ts=pane)
    files_bot.post(reply("1700000400.000200", "explain this diagram", thread_ts=pane,
                         files=[file], channel=dm))
    files_bot.drain()

    assert [b["bytes"] for b in blocks_of(fake_bedrock.last_request, "image")] == [diagram]
    assert "explain this diagram" in texts_of(fake_bedrock.last_request)
