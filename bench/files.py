"""Files in a thread: bytes downloaded from Slack per turn, with the prepared-file cache
(FILE_CACHE_MB=64) and without it (FILE_CACHE_MB=0, the baseline), side by side in one run.

A 10-turn thread holds 3 images (a 12-megapixel phone photo and two full-HD screenshots) and
a PDF, in two shapes: all four files on the first message, or one on each of turns 1, 3, 5
and 7. The real bot (Bolt app behind waitress, SQLite store) answers signed events; the fake
Slack serves the files and records every download; the fake Bedrock records what Claude is
sent. Prints one table.

    .venv/bin/python bench/files.py
"""

from __future__ import annotations

import io
import os
import platform
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
os.environ.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench",
                  AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE="/dev/null",
                  AWS_SHARED_CREDENTIALS_FILE="/dev/null")

from PIL import Image  # noqa: E402
from pypdf import PdfWriter  # noqa: E402
from pypdf.generic import DecodedStreamObject  # noqa: E402

from bot.config import Settings  # noqa: E402
from tests.fakes.bedrock import FakeBedrock  # noqa: E402
from tests.fakes.signing import app_mention, event_callback, message  # noqa: E402
from tests.fakes.slack_api import FakeSlack  # noqa: E402
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, BotServer  # noqa: E402

CHANNEL = "C0BENCH"
TURNS = 10


def photo(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.effect_noise((width, height), 40).convert("RGB").save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


def screenshot(width: int, height: int, seed: int) -> bytes:
    image = Image.new("RGB", (width, height), (245, 245, 245))
    noise = Image.effect_noise((width // 3, height // 3), 60 + seed).convert("RGB")
    image.paste(noise, (width // 4, height // 4))
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


def pdf(pages: int, padding: int) -> bytes:
    writer = PdfWriter()
    for _ in range(pages):
        writer.add_blank_page(width=612, height=792)
    filler = DecodedStreamObject()
    filler.set_data(os.urandom(padding))  # stands for fonts and figures
    writer._add_object(filler)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


FILES = [
    ("IMG_4032.jpg", "image/jpeg", photo(4032, 3024)),
    ("screenshot-1.png", "image/png", screenshot(1920, 1080, 0)),
    ("screenshot-2.png", "image/png", screenshot(1920, 1080, 20)),
    ("contract.pdf", "application/pdf", pdf(12, 900_000)),
]
SHAPES: dict[str, dict[int, list[int]]] = {
    "all on turn 1": {1: [0, 1, 2, 3]},
    "turns 1, 3, 5, 7": {1: [0], 3: [1], 5: [2], 7: [3]},
}
CACHES = {"cache 64 MB (ours)": 64, "no cache (baseline)": 0}


def run(shape: dict[int, list[int]], cache_mb: int, state_dir: Path) -> list[tuple[int, int, int]]:
    """(bytes downloaded, files.info calls, bytes sent to Bedrock) of each turn."""
    root = "1700000000.000100"
    with FakeSlack(bot_token=BOT_TOKEN) as slack, FakeBedrock(reply="Noted.") as bedrock:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None, slack_bot_token=BOT_TOKEN, slack_signing_secret=SIGNING_SECRET,
            slack_api_url=slack.url, sqlite_path=state_dir / f"{cache_mb}-{id(shape)}.sqlite3",
            bedrock_endpoint_url=bedrock.url, model_provider="bedrock", prompt_cache=False,
            slack_file_hosts=(f"127.0.0.1:{slack.port}",), file_cache_mb=cache_mb,
            context_token_budget=200_000, update_interval_seconds=0.05,
        )
        bot = BotServer(settings).start()
        rows = []
        try:
            for turn in range(1, TURNS + 1):
                ts = root if turn == 1 else f"17000000{turn:02d}.000100"
                files = [slack.seed_file(FILES[i][0], FILES[i][2], mimetype=FILES[i][1],
                                         channel=CHANNEL, ts=ts, thread_ts=root)
                         for i in shape.get(turn, [])]
                seen = (len(slack.downloads), len(slack.calls_to("files.info")),
                        len(bedrock.requests))
                bot.post(_event(turn, ts, root, files))
                bot.drain()
                downloaded = sum(d.bytes_sent for d in slack.downloads[seen[0]:])
                infos = len(slack.calls_to("files.info")) - seen[1]
                sent = sum(len(str(r.body)) for r in bedrock.requests[seen[2]:])
                rows.append((downloaded, infos, sent))
        finally:
            bot.stop()
        return rows


def _event(turn: int, ts: str, root: str, files: list[dict[str, Any]]) -> dict[str, Any]:
    extra: dict[str, Any] = {"files": files} if files else {}
    if turn == 1:
        return event_callback(app_mention(channel=CHANNEL, user="U_ANA", ts=ts,
                                          text="<@U_BOT> have a look", **extra))
    if files:
        extra["subtype"] = "file_share"
    return event_callback(message(channel=CHANNEL, user="U_ANA", ts=ts, thread_ts=root,
                                  text=f"question {turn}", channel_type="channel", **extra))


def table(results: dict[tuple[str, str], list[tuple[int, int, int]]]) -> str:
    columns = list(results)
    header = "| turn | " + " | ".join(f"{shape}, {cache}" for shape, cache in columns) + " |"
    lines = [header, "|---|" + "---:|" * len(columns)]

    def cell(row: tuple[int, int, int]) -> str:
        return f"{row[0]:,} B ({row[1]} files.info)"

    for turn in range(TURNS):
        lines.append(f"| {turn + 1} | " + " | ".join(cell(results[c][turn]) for c in columns) + " |")
    totals: Callable[[int], str] = lambda i: " | ".join(  # noqa: E731
        f"{sum(r[i] for r in results[c]):,}" for c in columns)
    lines.append("| downloaded, 10 turns (B) | " + totals(0) + " |")
    lines.append("| files.info calls, 10 turns | " + totals(1) + " |")
    lines.append("| sent to Bedrock, 10 turns (B) | " + totals(2) + " |")
    return "\n".join(lines)


def main() -> None:
    sizes = ", ".join(f"{name} {len(data):,} B" for name, _, data in FILES)
    results: dict[tuple[str, str], list[tuple[int, int, int]]] = {}
    with tempfile.TemporaryDirectory() as state:
        for shape_name, shape in SHAPES.items():
            for cache_name, cache_mb in CACHES.items():
                results[(shape_name, cache_name)] = run(shape, cache_mb, Path(state))
    print(f"Files benchmark, {datetime.now(UTC):%Y-%m-%d}, {platform.machine()}, "
          f"{os.cpu_count()} cores, Python {platform.python_version()}; files: {sizes}.\n")
    print(table(results))


if __name__ == "__main__":
    main()
