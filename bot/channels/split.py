"""Text against a channel's limits: the inbound length check, and splitting a long reply
into the pieces a channel accepts (WeCom counts UTF-8 bytes, Telegram characters)."""

from __future__ import annotations

from core.messages import MAX_TEXT


def too_long(text: str, limit: int = MAX_TEXT) -> bool:
    """A message text longer than handlers accept: it is answered with ``texts.TOO_LONG``
    and never reaches the inbox."""
    return len(text) > limit


def split_chars(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` characters (a text that fits is one piece)."""
    if len(text) <= limit:
        return [text]
    return [text[i : i + limit] for i in range(0, len(text), limit)]


def split_bytes(text: str, limit: int) -> list[str]:
    """Pieces of at most ``limit`` UTF-8 bytes, preferring line breaks."""
    pieces: list[str] = []
    current = ""
    for line in text.splitlines(keepends=True):
        while len(line.encode()) > limit:  # one very long line: cut by characters
            cut = len(line)
            while len(line[:cut].encode()) > limit:
                cut = cut * 3 // 4
            if current:
                pieces.append(current)
                current = ""
            pieces.append(line[:cut])
            line = line[cut:]
        if len((current + line).encode()) > limit:
            pieces.append(current)
            current = ""
        current += line
    if current or not pieces:
        pieces.append(current)
    return [p.rstrip("\n") for p in pieces]
