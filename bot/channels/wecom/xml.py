"""WeCom callback XML: a bounded, DTD-free parse into {tag: text}, and the id of an event."""

from __future__ import annotations

import hashlib
from typing import Any, NoReturn
from xml.parsers import expat

from bot.channels.wecom.crypto import CallbackRejected

MAX_BODY = 64 * 1024  # callback bodies are about 1 kB


def parse_xml(data: bytes) -> dict[str, str]:
    """Leaf elements of a WeCom XML document as {tag: text}; the first occurrence wins.

    Expat is driven directly so that any DTD or entity declaration is refused (no billion
    laughs, no external entities) and the size is bounded before parsing."""
    if len(data) > MAX_BODY:
        raise CallbackRejected("xml too large", 413)
    fields: dict[str, str] = {}
    stack: list[tuple[str, list[str], bool]] = []

    def refuse(*_: Any) -> NoReturn:
        raise CallbackRejected("xml with DTD or entities")

    def start(tag: str, _attrs: dict[str, str]) -> None:
        if stack:
            stack[-1] = (stack[-1][0], stack[-1][1], True)
        stack.append((tag, [], False))

    def end(tag: str) -> None:
        name, chunks, has_children = stack.pop()
        if len(stack) >= 1 and not has_children:
            fields.setdefault(name, "".join(chunks).strip())

    def chars(text: str) -> None:
        if stack:
            stack[-1][1].append(text)

    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = refuse
    parser.EntityDeclHandler = refuse
    parser.UnparsedEntityDeclHandler = refuse
    parser.ExternalEntityRefHandler = refuse
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    try:
        parser.Parse(data, True)
    except expat.ExpatError as exc:
        raise CallbackRejected(f"malformed xml: {exc}") from None
    return fields


def event_message_id(msg: dict[str, str]) -> str:
    """Events have no MsgId: sender + CreateTime + Event + EventKey (+ a card's TaskId)
    identifies a retry."""
    task = [msg["TaskId"]] if msg.get("TaskId") else []
    key = ":".join(
        [msg.get("FromUserName", ""), msg.get("CreateTime", ""), msg.get("Event", "")]
        + [msg.get("EventKey", "")]
        + task
    )
    return key if len(key) <= 120 else "ev:" + hashlib.sha1(key.encode()).hexdigest()
