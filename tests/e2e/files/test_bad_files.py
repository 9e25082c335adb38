"""Issue 13, bad input: each bad file gets a placeholder for Claude and one clear line for the
person, nothing crashes, and the rest of the turn (the question, the good image beside it)
goes on. Unsafe addresses are refused before any request is made."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from bot import messages as say
from tests.e2e.files.conftest import CHANNEL, blocks_of, mention_with_files, texts_of
from tests.fakes._clock import next_ts
from tests.fakes.slack_api import FakeSlack
from tests.support import sample_files

MB = 1_000_000
GOOD = sample_files.png(40, 30, color=(10, 200, 10))


@pytest.fixture
def elsewhere() -> Iterator[FakeSlack]:
    """Another server on this machine that must never be asked for anything."""
    server = FakeSlack().start()
    yield server
    server.stop()


@dataclass(frozen=True)
class Case:
    name: str  # the bad file's name
    reason: str
    make: Callable[[FakeSlack, str, FakeSlack], list[dict[str, Any]]]
    downloaded: bool = True  # whether its bytes may be requested at all


def seeded(name: str, data: bytes, mimetype: str, **fields: Any):
    def make(fake: FakeSlack, ts: str, _: FakeSlack) -> list[dict[str, Any]]:
        return [fake.seed_file(name, data, mimetype=mimetype, channel=CHANNEL, ts=ts, **fields)]
    return make


def with_fields(name: str, mimetype: str, **overrides: Any):
    def make(fake: FakeSlack, ts: str, other: FakeSlack) -> list[dict[str, Any]]:
        file = fake.seed_file(name, b"x" * 100, mimetype=mimetype, channel=CHANNEL, ts=ts)
        values = {k: (v(other) if callable(v) else v) for k, v in overrides.items()}
        return [file | values]
    return make


def other_host(other: FakeSlack) -> str:
    return f"{other.base_url}/files-pri/T1-F1/download/x.png"


CASES = [
    Case("empty.txt", say.FILE_EMPTY, seeded("empty.txt", b"", "text/plain")),
    Case("photo.png", say.FILE_NOT_IMAGE, seeded("photo.png", sample_files.HTML_AS_PNG, "image/png")),
    Case("broken.pdf", say.FILE_NOT_PDF, seeded("broken.pdf", sample_files.CORRUPT_PDF,
                                                "application/pdf")),
    Case("holiday.mp4", say.FILE_NOT_READABLE,
         with_fields("holiday.mp4", "video/mp4", size=50 * MB), downloaded=False),
    Case("manual.pdf", say.FILE_TOO_LARGE.format(limit="20 MB"),
         with_fields("manual.pdf", "application/pdf", size=200 * MB), downloaded=False),
    Case("keys.png", say.FILE_BAD_HOST,
         with_fields("keys.png", "image/png", url_private_download="http://127.0.0.1:22/"),
         downloaded=False),
    Case("meta.png", say.FILE_BAD_HOST, with_fields(
        "meta.png", "image/png",
        url_private_download="http://169.254.169.254/latest/meta-data/iam/security-credentials/"),
        downloaded=False),
    Case("local.png", say.FILE_BAD_HOST,
         with_fields("local.png", "image/png", url_private_download=other_host), downloaded=False),
    Case("moved.png", say.FILE_BAD_HOST,
         seeded("moved.png", GOOD, "image/png", redirect_to="http://169.254.169.254/latest/")),
    Case("theirs.png", say.FILE_ELSEWHERE, with_fields(
        "theirs.png", "image/png",
        shares={"private": {"G0SECRET": [{"ts": "1600000000.000100", "thread_ts": ""}]}}),
        downloaded=False),
]


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_a_bad_file_gets_a_line_and_the_turn_goes_on(
    case: Case, files_bot, fake_slack, fake_bedrock, elsewhere
):
    fake_bedrock.reply = "Here is what I see."
    ts = next_ts()
    good = fake_slack.seed_file("good.png", GOOD, mimetype="image/png", channel=CHANNEL, ts=ts)
    bad = case.make(fake_slack, ts, elsewhere)
    status, _ = files_bot.post(mention_with_files(ts, "compare these", [good, *bad]))
    files_bot.drain()

    assert status == 200
    sent = fake_bedrock.last_request
    assert [b["bytes"] for b in blocks_of(sent, "image")] == [GOOD]
    assert "compare these" in texts_of(sent)
    assert say.file_placeholder(case.name, case.reason) in texts_of(sent)
    [answer] = fake_slack.thread_texts(CHANNEL, ts)
    assert answer.startswith("Here is what I see.")
    assert f"{case.name} ({case.reason})" in answer
    assert elsewhere.calls == [] and elsewhere.downloads == []
    requested = [d.path for d in fake_slack.downloads if case.name in d.path]
    if not case.downloaded:
        assert requested == []


def test_twenty_five_images_send_twenty_and_name_the_five_left(files_bot, fake_slack, fake_bedrock):
    ts = next_ts()
    images = [sample_files.png(10 + i, 10) for i in range(25)]
    files = [fake_slack.seed_file(f"shot{i:02d}.png", data, mimetype="image/png", channel=CHANNEL,
                                  ts=ts) for i, data in enumerate(images)]
    files_bot.post(mention_with_files(ts, "which is widest?", files))
    files_bot.drain()

    assert [b["bytes"] for b in blocks_of(fake_bedrock.last_request, "image")] == images[:20]
    assert len(fake_slack.downloads) == 20
    [answer] = fake_slack.thread_texts(CHANNEL, ts)
    too_many = say.FILE_TOO_MANY.format(count=20, what="images")
    assert all(f"shot{i:02d}.png ({too_many})" in answer for i in range(20, 25))


def test_a_download_that_times_out_is_skipped(start_files_bot, fake_slack, fake_bedrock):
    bot = start_files_bot(slack_timeout_seconds=1)
    ts = next_ts()
    slow = fake_slack.seed_file("slow.png", GOOD, mimetype="image/png", channel=CHANNEL, ts=ts,
                                hang_seconds=3)
    bot.post(mention_with_files(ts, "and this one?", [slow]))
    bot.drain()

    assert say.file_placeholder("slow.png", say.FILE_TIMED_OUT) in texts_of(fake_bedrock.last_request)
    assert f"slow.png ({say.FILE_TIMED_OUT})" in fake_slack.thread_texts(CHANNEL, ts)[0]


def test_the_sign_in_page_is_reported_as_a_missing_scope(files_bot, fake_slack, fake_bedrock):
    fake_slack.files_read_missing = True
    ts = next_ts()
    file = fake_slack.seed_file("chart.png", GOOD, mimetype="image/png", channel=CHANNEL, ts=ts)
    files_bot.post(mention_with_files(ts, "see chart", [file]))
    files_bot.drain()

    assert not blocks_of(fake_bedrock.last_request, "image")
    assert f"chart.png ({say.FILE_NO_ACCESS})" in fake_slack.thread_texts(CHANNEL, ts)[0]
    assert fake_slack.downloads[0].authorized  # the token was sent; Slack still refused


def test_the_token_is_sent_and_without_it_slack_answers_its_sign_in_page(fake_slack):
    import urllib.request

    file = fake_slack.seed_file("a.png", GOOD, mimetype="image/png", channel=CHANNEL, ts="1.2")
    with urllib.request.urlopen(file["url_private_download"]) as response:
        assert response.headers["Content-Type"].startswith("text/html")
        assert b"Sign in to Slack" in response.read()
    request = urllib.request.Request(file["url_private_download"],
                                     headers={"Authorization": f"Bearer {fake_slack.bot_token}"})
    with urllib.request.urlopen(request) as response:
        assert response.read() == GOOD


def test_a_file_the_event_does_not_describe_is_looked_up_and_refused_if_shared_elsewhere(
    files_bot, fake_slack, fake_bedrock
):
    ts = next_ts()
    # Shared in another thread of the same channel; the event only says to check files.info.
    file = fake_slack.seed_file("plan.pdf", sample_files.pdf(), mimetype="application/pdf",
                                channel=CHANNEL, ts="1600000000.000200",
                                thread_ts="1600000000.000100")
    files_bot.post(mention_with_files(ts, "summarise", [{"id": file["id"],
                                                         "file_access": "check_file_info"}]))
    files_bot.drain()

    assert [c.params["file"] for c in fake_slack.calls_to("files.info")] == [file["id"]]
    assert fake_slack.downloads == []
    assert not blocks_of(fake_bedrock.last_request, "document")
    assert f"({say.FILE_ELSEWHERE})" in fake_slack.thread_texts(CHANNEL, ts)[0]


def test_a_file_the_event_does_not_describe_is_read_when_shared_here(
    files_bot, fake_slack, fake_bedrock, table_items
):
    ts = next_ts()
    report = sample_files.pdf()
    file = fake_slack.seed_file("plan.pdf", report, mimetype="application/pdf", channel=CHANNEL,
                                ts=ts)
    files_bot.post(mention_with_files(ts, "summarise", [{"id": file["id"],
                                                         "file_access": "check_file_info"}]))
    files_bot.drain()

    [document] = blocks_of(fake_bedrock.last_request, "document")
    assert (document["name"], document["bytes"]) == ("plan", report)
    messages, _ = table_items()
    assert any("plan.pdf" in m["Info"]["S"] for m in messages if "Info" in m)
