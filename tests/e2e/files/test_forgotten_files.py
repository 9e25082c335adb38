"""Issue 13: a file deleted (`file_deleted`, a tombstone in its message) or unshared
(`file_unshared`) is never sent to Claude again, and finding it gone never fails the turn."""

from __future__ import annotations

from bot import messages as say
from tests.e2e.files.conftest import CHANNEL, blocks_of, mention_with_files, reply, texts_of
from tests.fakes.signing import event_callback, message_changed
from tests.support import sample_files

ROOT = "1700000200.000100"
GONE = say.file_placeholder("chart.png", say.FILE_GONE)


def shared_chart(fake_slack):
    return fake_slack.seed_file("chart.png", sample_files.png(), mimetype="image/png",
                                channel=CHANNEL, ts=ROOT)


def ask_again(bot, ts: str = "1700000200.000300") -> None:
    bot.post(reply(ts, "and now?", thread_ts=ROOT))
    bot.drain()


def test_a_deleted_file_is_forgotten_even_while_cached(files_bot, fake_slack, fake_bedrock):
    file = shared_chart(fake_slack)
    files_bot.post(mention_with_files(ROOT, "look", [file]))
    files_bot.drain()
    fake_slack.delete_file(file["id"])
    files_bot.post(event_callback({"type": "file_deleted", "file_id": file["id"],
                                   "channel_ids": [CHANNEL], "event_ts": "1700000200.000200"}))
    files_bot.drain()
    ask_again(files_bot)

    later = fake_bedrock.requests[-1]
    assert blocks_of(later, "image") == []
    assert GONE in texts_of(later) and "and now?" in texts_of(later)
    assert len(fake_slack.downloads_of(file["id"])) == 1
    assert len(fake_slack.thread_texts(CHANNEL, ROOT)) == 2


def test_a_file_deleted_without_an_event_is_found_gone_and_the_turn_goes_on(
    start_files_bot, fake_slack, fake_bedrock
):
    bot = start_files_bot(file_cache_mb=0)
    file = shared_chart(fake_slack)
    bot.post(mention_with_files(ROOT, "look", [file]))
    bot.drain()
    fake_slack.delete_file(file["id"])
    ask_again(bot)

    assert GONE in texts_of(fake_bedrock.requests[-1])
    assert fake_slack.calls_to("files.info")[-1].error == "file_deleted"
    assert len(fake_slack.thread_texts(CHANNEL, ROOT)) == 2


def test_a_tombstone_in_the_message_forgets_the_file(files_bot, fake_slack, fake_bedrock):
    file = shared_chart(fake_slack)
    files_bot.post(mention_with_files(ROOT, "look", [file]))
    files_bot.drain()
    edit = message_changed(channel=CHANNEL, ts=ROOT, text="<@U_BOT> look", user="U_ANA")
    edit["message"]["files"] = [{"id": file["id"], "mode": "tombstone"}]
    files_bot.post(event_callback(edit))
    files_bot.drain()
    ask_again(files_bot)

    assert GONE in texts_of(fake_bedrock.requests[-1])
    assert blocks_of(fake_bedrock.requests[-1], "image") == []


def test_an_unshared_file_is_checked_again_and_not_sent(files_bot, fake_slack, fake_bedrock):
    file = shared_chart(fake_slack)
    files_bot.post(mention_with_files(ROOT, "look", [file]))
    files_bot.drain()
    fake_slack.change_file(file["id"], shared=[])
    files_bot.post(event_callback({"type": "file_unshared", "file_id": file["id"],
                                   "file": {"id": file["id"]}, "channel_id": CHANNEL,
                                   "event_ts": "1700000200.000200"}))
    files_bot.drain()
    ask_again(files_bot)

    later = fake_bedrock.requests[-1]
    assert blocks_of(later, "image") == []
    assert say.file_placeholder("chart.png", say.FILE_ELSEWHERE) in texts_of(later)
    assert len(fake_slack.downloads_of(file["id"])) == 1
