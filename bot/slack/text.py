"""Slack message markup → the text a person sees, for the model.

Slack encodes mentions, channels, links, user groups and dates as `<...>` tokens and escapes
`&`, `<` and `>` (https://docs.slack.dev/messaging/formatting-message-text). Those are the only
changes: indentation, tabs, runs of spaces, blank lines, code and every script reach the model
byte for byte. The bot's own mention is removed, with the space it leaves behind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

_TOKEN = re.compile(r"<([^<>]*)>")
_ENTITY = re.compile(r"&(lt|gt|amp);")
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&"}
_BROADCASTS = ("here", "channel", "everyone")


def _decode_token(body: str, name_of: Callable[[str], str]) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        return f"@{label or name_of(target[1:])}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!subteam^"):
        return label if label.startswith("@") else f"@{label or target[len('!subteam^'):]}"
    if target.startswith("!date^"):
        return label or _date_text(target)
    if target.startswith("!"):
        name = target[1:].split("^", 1)[0]
        return f"@{label or name}" if name in _BROADCASTS else label or name
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    if not label or label == target or target.split("://", 1)[-1] == label:
        return target
    return f"{label} ({target})"


def _date_text(target: str) -> str:
    """`!date^1392734382^{date_num}` without a fallback label: the moment, in UTC."""
    seconds = target.split("^")[1] if target.count("^") >= 1 else ""
    try:
        moment = datetime.fromtimestamp(int(seconds), tz=UTC)
    except (ValueError, OverflowError, OSError):
        return ""
    return moment.strftime("%Y-%m-%d %H:%M UTC")


def _without_mention_of(text: str, user_id: str) -> str:
    """Remove `<@user_id>` tokens and the whitespace they leave: a mention at the start of the
    message or of a line takes the spaces after it (and the line break, if it stood alone),
    one at the end takes the spaces before it, one between words leaves a single space."""
    if not user_id:
        return text
    token = re.compile(r"([ \t]*)<@" + re.escape(user_id) + r"(?:\|[^<>]*)?>([ \t]*)(\n?)")

    def remove(match: re.Match[str]) -> str:
        before, after, newline = match.groups()
        at_line_start = match.start() == 0 or text[match.start() - 1] == "\n"
        at_line_end = bool(newline) or match.end() == len(text)
        if at_line_start:
            return ""
        if at_line_end:
            return newline
        return " " if before and after else before + after

    return token.sub(remove, text)


def decode_slack_text(
    text: str, *, bot_user_id: str, name_of: Callable[[str], str] = lambda user_id: user_id
) -> str:
    """Remove the bot's own mention, decode the other markup and the three escapes.

    A message that is nothing but whitespace once the mention is gone decodes to "".
    """
    without_bot = _without_mention_of(text, bot_user_id)
    decoded = _TOKEN.sub(lambda match: _decode_token(match.group(1), name_of), without_bot)
    decoded = _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], decoded)
    return decoded if decoded.strip() else ""


# Mentions of people, user groups and @here/@channel/@everyone: addressing, not content.
_ADDRESS_TOKEN = re.compile(r"<(?:@[^<>]*|!(?:here|channel|everyone|subteam\^)[^<>]*)>")


def says_something(text: str) -> bool:
    """Whether raw Slack text holds more than mentions and whitespace ("@bot @ana" does not)."""
    return bool(_ADDRESS_TOKEN.sub("", text).strip())


def mentions_user(text: str, user_id: str) -> bool:
    return f"<@{user_id}>" in text or f"<@{user_id}|" in text
