"""Real-shaped Slack messages and exactly what Claude must be sent for each.

`text` is Slack's `text` field (markup and escapes as Slack sends them); `blocks` the Block Kit
a message carries. A case with an empty `text` is a blocks-only message (forwarded, composed by
a workflow or an app): its blocks are all there is. People: U_ANA is Ana, U_BO is Bo; the bot
is U_BOT.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

NAMES = {"U_ANA": "Ana", "U_BO": "Bo"}


@dataclass(frozen=True)
class Case:
    name: str
    text: str
    expected: str
    blocks: list[dict[str, Any]] = field(default_factory=list)

    def event_fields(self) -> dict[str, Any]:
        return {"text": self.text, "blocks": self.blocks}


def rich(*elements: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"type": "rich_text", "block_id": "b1", "elements": list(elements)}]


def section(*elements: dict[str, Any]) -> dict[str, Any]:
    return {"type": "rich_text_section", "elements": list(elements)}


def text(value: str, **style: bool) -> dict[str, Any]:
    element: dict[str, Any] = {"type": "text", "text": value}
    if style:
        element["style"] = style
    return element


def bullets(*items: str, indent: int = 0, style: str = "bullet", offset: int = 0) -> dict[str, Any]:
    return {"type": "rich_text_list", "style": style, "indent": indent, "offset": offset,
            "border": 0, "elements": [section(text(item)) for item in items]}


PYTHON = '''```def total(items):
    """Sum the prices."""
    result = 0
    for item in items:
        if item.price &gt; 0:
            result += item.price
    return result```'''

YAML = '''services:
  web:
    image: "nginx:1.27"
    ports:
      - "8080:80"
    environment:
      - MODE=prod   # two spaces before the comment'''

MAKEFILE = "```CC = gcc\n\nall: app\n\napp: main.o util.o\n\t$(CC) -o app main.o util.o\n\nclean:\n\trm -f *.o app```"

CORPUS: list[Case] = [
    Case("plain question", "What changed in the release?", "What changed in the release?"),
    Case("python in a fence, indentation kept", PYTHON, PYTHON.replace("&gt;", ">")),
    Case("python pasted without a fence",
         "def f(x):\n    if x:\n        return 1\n    return 0",
         "def f(x):\n    if x:\n        return 1\n    return 0"),
    Case("yaml with nested indentation and quotes", YAML, YAML),
    Case("makefile with tabs", MAKEFILE, MAKEFILE),
    Case("runs of spaces", "a    b     c  d", "a    b     c  d"),
    Case("tabs between columns", "name\tqty\tprice\nTAPIR\t2\t9.50", "name\tqty\tprice\nTAPIR\t2\t9.50"),
    Case("blank lines between paragraphs", "first\n\n\nsecond\n\nthird", "first\n\n\nsecond\n\nthird"),
    Case("indented first line", "    indented start\nnext", "    indented start\nnext"),
    Case("inline code with escapes", "use `x &lt; y &amp;&amp; z` here", "use `x < y && z` here"),
    Case("escapes, and an escaped escape", "1 &lt; 2 &gt; 0 &amp; &amp;amp; &amp;lt;",
         "1 < 2 > 0 & &amp; &lt;"),
    Case("sql with not-equal", "SELECT * FROM t WHERE a &lt;&gt; b;", "SELECT * FROM t WHERE a <> b;"),
    Case("html in code", '```&lt;div class="x"&gt;&lt;/div&gt;```', '```<div class="x"></div>```'),
    Case("json", '```{\n  "id": 7,\n  "tags": ["a", "b"]\n}```', '```{\n  "id": 7,\n  "tags": ["a", "b"]\n}```'),
    Case("a person mentioned", "ask <@U_BO> please", "ask @Bo please"),
    Case("a person mentioned with a label", "<@U_CY|carla> can you look", "@carla can you look"),
    Case("the bot mentioned first", "<@U_BOT> what is 2+2?", "what is 2+2?"),
    Case("the bot mentioned mid-sentence", "hey <@U_BOT> what's up", "hey what's up"),
    Case("the bot mentioned last", "thanks <@U_BOT>", "thanks"),
    Case("the bot alone on the first line, code below", "<@U_BOT>\n```    x = 1\n    y = 2```",
         "```    x = 1\n    y = 2```"),
    Case("channels with and without a name", "see <#C123|general>, <#C456> and <#C789|>",
         "see #general, #C456 and #C789"),
    Case("a link with a label and an escaped query",
         "read <https://example.com/a?b=1&amp;c=2|the docs>", "read the docs (https://example.com/a?b=1&c=2)"),
    Case("bare links", "<https://example.com> and <https://example.com/x|example.com/x>",
         "https://example.com and https://example.com/x"),
    Case("an email address", "mail <mailto:ana@example.com|ana@example.com>", "mail ana@example.com"),
    Case("a user group", "<!subteam^S123|@oncall> ping", "@oncall ping"),
    Case("broadcasts", "<!here> <!channel> <!everyone|everyone> standup now",
         "@here @channel @everyone standup now"),
    Case("a date with its fallback",
         "due <!date^1392734382^{date_num} at {time}|2014-02-18 at 6:39 AM>", "due 2014-02-18 at 6:39 AM"),
    Case("a date without a fallback", "due <!date^1392734382^{date}>", "due 2014-02-18 14:39 UTC"),
    Case("hebrew, right to left", "שלום, מה שלומך היום?", "שלום, מה שלומך היום?"),
    Case("arabic with digits", "مرحبا بالعالم 2024", "مرحبا بالعالم 2024"),
    Case("japanese and emoji", "今日は会議があります 🎉 :tada: :wave::skin-tone-2:",
         "今日は会議があります 🎉 :tada: :wave::skin-tone-2:"),
    Case("a quote as typed", "&gt; the build is green\nagreed?", "> the build is green\nagreed?"),
    Case("a list as typed", "• one\n• two\n    ◦ nested", "• one\n• two\n    ◦ nested"),
    Case("styles as typed", "*bold* _italic_ ~struck~", "*bold* _italic_ ~struck~"),
    # Blocks-only messages: what their blocks show, in the same form as typed text.
    Case("blocks: a list with a nested list", "", "Plan:\n• write\n• test\n    ◦ unit\n    ◦ e2e",
         rich(section(text("Plan:\n")), bullets("write", "test"), bullets("unit", "e2e", indent=1))),
    Case("blocks: ordered, nested lettered", "", "1. first\n2. second\n    a. detail",
         rich(bullets("first", "second", style="ordered"),
              bullets("detail", style="ordered", indent=1))),
    Case("blocks: code keeps its indentation", "", "Look:\n```def f():\n    return 1 < 2```",
         rich(section(text("Look:")),
              {"type": "rich_text_preformatted", "elements": [text("def f():\n    return 1 < 2")]})),
    Case("blocks: a quote over two lines", "", "> line one\n> line two\nok",
         rich({"type": "rich_text_quote", "elements": [text("line one\nline two")]},
              section(text("ok")))),
    Case("blocks: styles, people, places, links, emoji", "",
         "*bold* _it_ ~gone~ `a<b` @Ana in #C1 see docs (https://x.io) :fire: @here",
         rich(section(text("bold", bold=True), text(" "), text("it", italic=True), text(" "),
                      text("gone", strike=True), text(" "), text("a<b", code=True), text(" "),
                      {"type": "user", "user_id": "U_ANA"}, text(" in "),
                      {"type": "channel", "channel_id": "C1"}, text(" see "),
                      {"type": "link", "url": "https://x.io", "text": "docs"}, text(" "),
                      {"type": "emoji", "name": "fire", "unicode": "1f525"}, text(" "),
                      {"type": "broadcast", "range": "here"}))),
    Case("blocks: the bot mentioned, a date", "", "when is it? 2014-02-18",
         rich(section({"type": "user", "user_id": "U_BOT"}, text(" when is it? "),
                      {"type": "date", "timestamp": 1392734382, "format": "{date_num}",
                       "fallback": "2014-02-18"}))),
    Case("blocks: a workflow's section and fields", "", "*Request* from Ana\nPriority: high\nTeam: web",
         [{"type": "section", "text": {"type": "mrkdwn", "text": "*Request* from Ana"},
           "fields": [{"type": "mrkdwn", "text": "Priority: high"},
                      {"type": "plain_text", "text": "Team: web"}]}]),
]
