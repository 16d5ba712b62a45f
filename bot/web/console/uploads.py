"""Console forms that carry files (multipart/form-data): read with aiohttp's streaming
multipart reader, never all at once in memory.

Text fields are kept (each cut to :data:`MAX_TEXT` bytes, at most :data:`MAX_PARTS` of
them); each file part is written chunk by chunk to an incoming folder under var/uploads in a
worker thread, hashed on the way, and cut at the size limit plus one byte (more is "too big";
the rest is read and dropped, up to :func:`body_cap` in all, so the browser gets our answer).
Files are written only once the form's ``csrf`` field, which comes before them, has matched
the session: a forged post writes nothing. What was read is kept on the request, so the CSRF
check (render.csrf_ok) and the route read the body once between them.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO
from urllib.parse import unquote

from aiohttp import BodyPartReader, web
from multidict import MultiDict

from bot.appkeys import CONFIG
from services import attachments
from services.attachments import Received

CHUNK = 256 * 1024
MAX_TEXT = 16 * 1024  # bytes of one text field (the longest, 内容, is 2,000 characters)
MAX_PARTS = 4000  # text fields (a county's villages as checkboxes, and a few more)


@dataclass
class Posted:
    fields: MultiDict[str] = field(default_factory=MultiDict)
    files: list[Received] = field(default_factory=list)
    too_many: bool = False  # more file parts than a task may carry
    broken: bool = False  # not a readable multipart body, or more than body_cap


_KEY = web.RequestKey("console_posted", Posted)  # what read() read, kept on the request


def is_multipart(request: web.Request) -> bool:
    return (request.content_type or "") == "multipart/form-data"


def staging_dir(app: web.Application) -> Path:
    return app[CONFIG].core.var_dir / "uploads"


def file_limit(app: web.Application) -> int:
    return int(app[CONFIG].core.attachment_max_bytes)


def body_cap(limit: int) -> int:
    """The most a form may send: every file at the limit, and room for its text fields."""
    return (attachments.MAX_FILES + 1) * (limit + 1) + 4 * 1024 * 1024


def posted(request: web.Request) -> Posted:
    """What :func:`read` kept (an empty form when it has not run)."""
    return request.get(_KEY) or Posted()


async def read(request: web.Request, csrf: str) -> Posted:
    """Read the whole multipart body once (see the module docstring)."""
    if _KEY in request:
        return posted(request)
    out = Posted()
    request[_KEY] = out
    limit = file_limit(request.app)
    budget = [body_cap(limit)]
    try:
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader):
                await part.release()
            elif part.filename is None:
                await _text(part, out, budget)
            elif out.fields.get("csrf") == csrf and csrf:
                await _file(request, part, out, limit, budget)
            else:
                await _drain(part, budget)
    except (ValueError, AssertionError, KeyError, _TooMuch):
        out.broken = True
    return out


class _TooMuch(Exception):
    """The body went past body_cap."""


async def _chunks(part: BodyPartReader, budget: list[int]) -> AsyncIterator[bytes]:
    while chunk := await part.read_chunk(CHUNK):
        budget[0] -= len(chunk)
        if budget[0] < 0:
            raise _TooMuch
        yield chunk


async def _drain(part: BodyPartReader, budget: list[int]) -> None:
    async for _chunk in _chunks(part, budget):
        pass


async def _text(part: BodyPartReader, out: Posted, budget: list[int]) -> None:
    data = bytearray()
    async for chunk in _chunks(part, budget):
        if len(data) < MAX_TEXT:
            data.extend(chunk[: MAX_TEXT - len(data)])
    if part.name and len(out.fields) < MAX_PARTS:
        out.fields.add(part.name, data.decode("utf-8", "replace"))


async def _file(
    request: web.Request, part: BodyPartReader, out: Posted, limit: int, budget: list[int]
) -> None:
    # Browsers send the name as UTF-8; aiohttp's own client percent-encodes it.
    name = unquote(part.filename or "")
    if len(out.files) >= attachments.MAX_FILES:
        out.too_many = True
        await _drain(part, budget)
        return
    folder = await asyncio.to_thread(attachments.incoming_dir, staging_dir(request.app))
    path = folder / "upload"
    digest = hashlib.sha256()
    size = 0
    handle = await asyncio.to_thread(path.open, "wb")
    try:
        async for chunk in _chunks(part, budget):
            keep = chunk[: max(0, limit + 1 - size)]
            size += len(chunk)
            if keep:
                await asyncio.to_thread(_write, handle, digest, keep)
    except BaseException:  # a broken or oversized body (or a cancel): keep no half file
        await asyncio.to_thread(_close_and_remove, handle, path)
        raise
    await asyncio.to_thread(handle.close)
    if size == 0 and not name:  # the empty part a browser sends when no file was chosen
        await asyncio.to_thread(_remove, path)
        return
    out.files.append(Received(name, path, size, digest.hexdigest(), truncated=size > limit))


def _write(handle: BinaryIO, digest: hashlib._Hash, data: bytes) -> None:
    handle.write(data)
    digest.update(data)


def _close_and_remove(handle: BinaryIO, path: Path) -> None:
    handle.close()
    _remove(path)


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()
