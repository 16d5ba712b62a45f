"""DingTalk ActionCards (``sampleActionCard`` with one button, ``sampleActionCard2`` …
``sampleActionCard5`` with two to five vertical buttons): a reply's buttons as buttons the
person taps.

A robot's card button can only open a link. Each button's link is DingTalk's client link
``dtmd://dingtalkclient/sendMessage?content=<n>``, which makes the person's client send the
text ``n`` (the button's menu number) into the chat. That arrives as an ordinary text "1"
and becomes the button press through the numbered menu (:class:`bot.channels.menus.MenuMemory`
remembers the card's buttons exactly as for a numbered menu), so the payloads stay on the
server and the click carries nothing but a number.

The card's markdown text is the message text (markdown escaped) followed by the numbered
options and the hint to answer with a number, for clients that cannot open dtmd links.

Buttons that do not fit a card (more than five, a label longer than ``LABEL_CHARS``, a text
too long for one message) keep the numbered text menu (:mod:`bot.channels.dingtalk.sender`).
"""

from __future__ import annotations

import json
import re
from urllib.parse import quote

from bot.channels import menus
from bot.channels.texts import MENU_HINT
from core.messages import Reply

MAX_BUTTONS = 5  # sampleActionCard5 is DingTalk's largest sample card
# DingTalk documents no limit on a button's title; a vertical button on a phone shows about
# sixteen Chinese characters on one line, so a longer label keeps the numbered menu.
LABEL_CHARS = 16
TITLE_CHARS = 30  # the title is what the chat list and the notification show (a line)
CARD_TEXT_BYTES = 4000  # as the text pieces (sender.TEXT_BYTES); msgParam may be 15,000
SEND_MESSAGE = "dtmd://dingtalkclient/sendMessage?content="
# What DingTalk's markdown reads as markup, escaped with a backslash (CommonMark allows one
# before any ASCII punctuation): emphasis, code, links, images and HTML anywhere in a line;
# headings, quotes and list markers at its start. Other punctuation stays as typed (dates).
_INLINE = re.compile(r"([\\`*_\[\]<>~])")
_LINE_START = re.compile(r"^(\s*)(#|[-+](?=\s|$)|\d+(?=[.)]))")


def escape(text: str) -> str:
    """Plain text as DingTalk markdown: markup escaped, each line kept a line."""
    lines = [
        _LINE_START.sub(_escape_start, _INLINE.sub(r"\\\1", line)) for line in text.splitlines()
    ]
    return "  \n".join(lines)  # two spaces before the newline: a hard line break


def _escape_start(match: re.Match[str]) -> str:
    indent, mark = match.group(1), match.group(2)
    if mark[0].isdigit():  # "1." / "1)": an ordered list; escape the punctuation after it
        return indent + mark + "\\"
    return indent + "\\" + mark


def button_link(number: int) -> str:
    return SEND_MESSAGE + quote(str(number), safe="")


def title_of(text: str, fallback: str) -> str:
    head = (text.strip() or fallback.strip()).partition("\n")[0].strip()
    return head if len(head) <= TITLE_CHARS else head[: TITLE_CHARS - 1] + "…"


def fits(reply: Reply) -> bool:
    buttons = reply.buttons
    return 1 <= len(buttons) <= MAX_BUTTONS and all(
        0 < len(b.label) <= LABEL_CHARS and "\n" not in b.label for b in buttons
    )


def build(reply: Reply, extra: str = "") -> tuple[str, str] | None:
    """``(msgKey, msgParam)`` for a reply with buttons, or None when they do not fit a card.
    ``extra``: a line after the text (e.g. that a photo is not shown)."""
    if not fits(reply):
        return None
    text = "\n".join(part for part in (reply.text, reply.link or "", extra) if part)
    options = [f"{i}\\. {escape(b.label)}" for i, b in enumerate(reply.buttons, 1)]
    markdown = "\n\n".join(
        part for part in (escape(text), "  \n".join(options), escape(MENU_HINT)) if part
    )
    param: dict[str, str] = {"title": title_of(text, menus.render(reply)), "text": markdown}
    if len(reply.buttons) == 1:
        key = "sampleActionCard"
        param |= {"singleTitle": reply.buttons[0].label, "singleURL": button_link(1)}
    else:
        key = f"sampleActionCard{len(reply.buttons)}"
        for i, b in enumerate(reply.buttons, 1):
            param |= {f"actionTitle{i}": b.label, f"actionURL{i}": button_link(i)}
    body = json.dumps(param, ensure_ascii=False)
    if len(body.encode()) > CARD_TEXT_BYTES:
        return None
    return key, body
