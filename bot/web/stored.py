"""Answers with a stored file (photo, voice note, thumbnail, task attachment), after the
caller's scope check, from whichever media store the app has.

- The local folder: a sendfile answer (``web.FileResponse``: Range, HEAD and conditional
  requests as aiohttp does them).
- S3-compatible storage, streamed (the default): HEAD answers from the object's metadata, GET
  passes one simple ``Range`` on to the store and streams the body back in 64 KB chunks, so
  audio seeking works as with the folder.
- S3 with ``CUNBOT_S3_PRESIGN=true``: a 302 to a signed link valid for
  ``CUNBOT_S3_PRESIGN_SECONDS`` (type and disposition signed into it). The browser then needs
  to reach the store's endpoint.

None means there is no such file: the caller answers its own 404 (and audits it). A store
that cannot be reached answers 503.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from aiohttp import web

from services.media_store import MediaStore, MediaUnavailable
from services.media_store.local import LocalStore
from services.media_store.s3 import RangeNotSatisfiable, S3Store

log = logging.getLogger(__name__)


async def answer(
    request: web.Request,
    store: MediaStore,
    key: str,
    *,
    headers: Mapping[str, str],
    content_type: str | None = None,
) -> web.StreamResponse | None:
    """``headers``: Cache-Control, Content-Disposition…; ``content_type`` overrides the
    stored one."""
    try:
        return await _answer(request, store, key, headers, content_type)
    except MediaUnavailable as exc:
        log.warning("media store unavailable key=%s: %s", key[:80], exc)
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "5"}) from None


async def _answer(
    request: web.Request,
    store: MediaStore,
    key: str,
    headers: Mapping[str, str],
    content_type: str | None,
) -> web.StreamResponse | None:
    extra = dict(headers)
    if content_type:
        extra["Content-Type"] = content_type
    if isinstance(store, LocalStore):
        path = await store.path(key)
        return None if path is None else web.FileResponse(path, headers=extra)
    if not isinstance(store, S3Store):
        raise TypeError(f"unknown media store {type(store).__name__}")
    if store.presign:
        return await _redirect(store, key, extra)
    if request.method == "HEAD":
        return await _head(request, store, key, extra)
    return await _stream(request, store, key, extra)


async def _redirect(store: S3Store, key: str, headers: dict[str, str]) -> web.StreamResponse | None:
    if await store.head(key) is None:
        return None
    url = await store.presigned_url(
        key,
        content_type=headers.get("Content-Type"),
        disposition=headers.get("Content-Disposition"),
    )
    # The link itself expires: never keep the redirect.
    raise web.HTTPFound(url, headers={"Cache-Control": "private, no-store"})


async def _head(
    request: web.Request, store: S3Store, key: str, headers: dict[str, str]
) -> web.StreamResponse | None:
    info = await store.head(key)
    if info is None:
        return None
    response = web.StreamResponse(headers=headers)
    if "Content-Type" not in headers:
        response.content_type = info.content_type
    response.content_length = info.size
    response.headers["Accept-Ranges"] = "bytes"
    if info.etag:
        response.headers["ETag"] = info.etag
    await response.prepare(request)
    await response.write_eof()
    return response


async def _stream(
    request: web.Request, store: S3Store, key: str, headers: dict[str, str]
) -> web.StreamResponse | None:
    try:
        stream = await store.open(key, request.headers.get("Range"))
    except RangeNotSatisfiable as bad:
        raise web.HTTPRequestRangeNotSatisfiable(
            headers={"Content-Range": f"bytes */{bad.size}"}
        ) from None
    if stream is None:
        return None
    try:
        response = web.StreamResponse(status=stream.status, headers=headers)
        if "Content-Type" not in headers:
            response.content_type = stream.content_type
        response.content_length = stream.length
        response.headers["Accept-Ranges"] = "bytes"
        if stream.etag:
            response.headers["ETag"] = stream.etag
        if stream.content_range:
            response.headers["Content-Range"] = stream.content_range
        await response.prepare(request)
        async for chunk in stream.chunks():
            await response.write(chunk)
        await response.write_eof()
        return response
    finally:
        stream.close()
