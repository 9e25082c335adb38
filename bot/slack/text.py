"""Slack message markup → readable text for the model.

Slack encodes mentions and links as `<...>` tokens and escapes `&`, `<`, `>`
(https://docs.slack.dev/messaging/formatting-message-text). The model should read
"@Ana", "#general" and "docs (https://…)" instead.
"""

from __future__ import annotations

import re
from collections.abc import Callable

_TOKEN = re.compile(r"<([^<>]+)>")
_ENTITIES = (("&lt;", "<"), ("&gt;", ">"), ("&amp;", "&"))


def _decode_token(body: str, bot_user_id: str, name_of: Callable[[str], str]) -> str:
    target, _, label = body.partition("|")
    if target.startswith("@"):
        user_id = target[1:]
        if user_id == bot_user_id:
            return ""
        return f"@{label or name_of(user_id)}"
    if target.startswith("#"):
        return f"#{label or target[1:]}"
    if target.startswith("!subteam^"):
        return label or "@group"
    if target.startswith("!date^"):
        return label or ""
    if target.startswith("!"):
        return f"@{target[1:]}"
    if target.startswith("mailto:"):
        return label or target[len("mailto:"):]
    if label and label != target:
        return f"{label} ({target})"
    return target


def decode_slack_text(
    text: str, *, bot_user_id: str, name_of: Callable[[str], str] = lambda user_id: user_id
) -> str:
    """Remove the bot's own mention, make other markup readable, unescape entities."""
    decoded = _TOKEN.sub(lambda match: _decode_token(match.group(1), bot_user_id, name_of), text)
    for entity, char in _ENTITIES:
        decoded = decoded.replace(entity, char)
    return re.sub(r"[ \t]{2,}", " ", decoded).strip()


# Mentions of people, user groups and @here/@channel/@everyone: addressing, not content.
_ADDRESS_TOKEN = re.compile(r"<(?:@[^<>]*|!(?:here|channel|everyone|subteam\^)[^<>]*)>")


def says_something(text: str) -> bool:
    """Whether raw Slack text holds more than mentions and whitespace ("@bot @ana" does not)."""
    return bool(_ADDRESS_TOKEN.sub("", text).strip())


def mentions_user(text: str, user_id: str) -> bool:
    return f"<@{user_id}>" in text or f"<@{user_id}|" in text
