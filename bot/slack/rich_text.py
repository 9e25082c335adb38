"""Block Kit → Slack message text, for messages that carry only `blocks`.

Slack's clients send a typed message both as `text` and as a `rich_text` block; some messages
(forwarded, composed by workflows or apps) carry only blocks. Rendered back to the markup of the
`text` field (`*bold*`, `<@U1>`, `<https://…|label>`, ``` fences, `&gt;` quotes, `•` bullets),
they go through the same decoding as typed text, so both reach the model identically.
https://docs.slack.dev/reference/block-kit/blocks/rich-text-block
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from bot.slack.payload import mapping_of, text_of

_BULLETS = ("•", "◦", "▪︎")
_INDENT = "    "
# Wrapping order of combined styles, innermost first, as Slack writes them in `text`.
_STYLE_MARKS = (("code", "`"), ("strike", "~"), ("italic", "_"), ("bold", "*"))


def escape(text: str) -> str:
    """Slack's three escapes: what a person typed as `<` arrives as `&lt;`."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def blocks_to_slack_text(blocks: Any) -> str:
    """The message text that `blocks` show, in Slack's markup; "" when they show none."""
    if not isinstance(blocks, list):
        return ""
    parts = [_block(mapping_of(block)) for block in blocks]
    return _joined_lines(part for part in parts if part)


def _block(block: Mapping[str, Any]) -> str:
    kind = block.get("type")
    if kind == "rich_text":
        return _joined_lines(_rich_element(mapping_of(e)) for e in _list(block.get("elements")))
    if kind in ("section", "header"):
        fields = [text_of(mapping_of(f).get("text")) for f in _list(block.get("fields"))]
        return _joined_lines([_text_object(block.get("text")), *fields])
    if kind == "context":
        return " ".join(_text_object(e) for e in _list(block.get("elements")) if _text_object(e))
    if kind == "markdown":
        return escape(text_of(block.get("text")))
    return ""


def _text_object(value: Any) -> str:
    """A plain_text or mrkdwn text object; mrkdwn is already in Slack's markup."""
    obj = mapping_of(value)
    text = text_of(obj.get("text"))
    return text if obj.get("type") == "mrkdwn" else escape(text)


def _rich_element(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    children = _list(element.get("elements"))
    if kind == "rich_text_section":
        return _inline(children)
    if kind == "rich_text_preformatted":
        return f"```{_inline(children)}```"
    if kind == "rich_text_quote":
        return "\n".join("&gt; " + line for line in _inline(children).split("\n"))
    if kind == "rich_text_list":
        return _list_items(element, children)
    return ""


def _list_items(element: Mapping[str, Any], items: list[Any]) -> str:
    indent = _int(element.get("indent"))
    ordered = element.get("style") == "ordered"
    start = _int(element.get("offset"))
    lines = []
    for number, item in enumerate(items, start=start + 1):
        marker = _ordinal(number, indent) if ordered else _BULLETS[indent % len(_BULLETS)]
        lines.append(f"{_INDENT * indent}{marker} {_inline(_list(mapping_of(item).get('elements')))}")
    return "\n".join(lines)


def _ordinal(number: int, indent: int) -> str:
    """1. at the top level, a. below it, i. below that, as Slack numbers nested lists."""
    level = indent % 3
    if level == 1:
        return _letters(number) + "."
    if level == 2:
        return _roman(number) + "."
    return f"{number}."


def _letters(number: int) -> str:
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(ord("a") + rest) + letters
    return letters


def _roman(number: int) -> str:
    numerals = (
        (1000, "m"), (900, "cm"), (500, "d"), (400, "cd"), (100, "c"), (90, "xc"),
        (50, "l"), (40, "xl"), (10, "x"), (9, "ix"), (5, "v"), (4, "iv"), (1, "i"),
    )
    out = ""
    for value, numeral in numerals:
        count, number = divmod(number, value)
        out += numeral * count
    return out


def _inline(elements: Iterable[Any]) -> str:
    return "".join(_inline_element(mapping_of(element)) for element in elements)


def _inline_element(element: Mapping[str, Any]) -> str:
    kind = element.get("type")
    if kind == "text":
        return _styled(escape(text_of(element.get("text"))), mapping_of(element.get("style")))
    if kind == "link":
        url, label = text_of(element.get("url")), text_of(element.get("text"))
        token = f"<{url}|{escape(label)}>" if label else f"<{url}>"
        return _styled(token, mapping_of(element.get("style")))
    if kind == "user":
        return f"<@{text_of(element.get('user_id'))}>"
    if kind == "usergroup":
        return f"<!subteam^{text_of(element.get('usergroup_id'))}>"
    if kind == "channel":
        return f"<#{text_of(element.get('channel_id'))}>"
    if kind == "broadcast":
        return f"<!{text_of(element.get('range'))}>"
    if kind == "emoji":
        return f":{text_of(element.get('name'))}:"
    if kind == "date":
        timestamp, fallback = element.get("timestamp"), text_of(element.get("fallback"))
        return f"<!date^{timestamp}^{text_of(element.get('format'))}|{escape(fallback)}>"
    if kind == "color":
        return escape(text_of(element.get("value")))
    return ""


def _styled(text: str, style: Mapping[str, Any]) -> str:
    if not text:
        return text
    for name, mark in _STYLE_MARKS:
        if style.get(name):
            text = f"{mark}{text}{mark}"
    return text


def _joined_lines(parts: Iterable[str]) -> str:
    """Parts on their own lines; a part that already ends its line adds no blank line."""
    out = ""
    for part in parts:
        if out and not out.endswith("\n"):
            out += "\n"
        out += part
    return out


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else 0
