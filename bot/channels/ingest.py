"""Photo ingest, the same for every channel: size check, download, validate and store.

A channel gives the announced size (when it knows it before downloading) and a download
callback; it gets a :class:`~services.media.StoredImage` to put in ``Incoming.photo``, or a
:class:`PhotoRefused` carrying the Chinese notice for the person (and an HTTP status for
channels that answer an upload). Download errors the channel lists in ``notice_on`` become
the "photo not received" notice; others propagate (WeCom answers 503 so its server retries).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.channels import texts
from services import media
from services.media_store import MediaStore, MediaUnavailable

log = logging.getLogger(__name__)


class PhotoRefused(Exception):
    def __init__(self, text: str, status: int) -> None:
        super().__init__(text)
        self.text = text
        # 413 too big, 415 not an image we accept, 502 download failed, 503 store unavailable
        self.status = status


async def ingest_photo(
    store: MediaStore,
    download: Callable[[], Awaitable[bytes]],
    *,
    size: int | None = None,
    limit: int = media.MAX_IMAGE_BYTES,
    notice_on: tuple[type[BaseException], ...] = (),
    message_id: str = "",
    voice: bool = False,
) -> media.StoredImage:
    """``voice``: a voice note (services.media.save_voice, its own limit and refusals)."""
    if voice:
        limit = min(limit, media.MAX_VOICE_BYTES)
    if size is not None and size > limit:
        too_big = media.VOICE_TOO_BIG.format(mb=limit // 1024 // 1024)
        raise PhotoRefused(too_big if voice else texts.PHOTO_TOO_BIG, 413)
    try:
        data = await download()
    except notice_on as exc:
        log.warning("photo download failed msg=%s: %r", message_id, exc)
        failed = texts.VOICE_DOWNLOAD_FAILED if voice else texts.PHOTO_DOWNLOAD_FAILED
        raise PhotoRefused(failed, 502) from exc
    try:
        if voice:
            return await media.save_voice(store, data, limit)
        return await media.save_image(store, data, limit)
    except media.ImageRejected as exc:
        log.info("media rejected msg=%s: %s", message_id, exc.reason)
        raise PhotoRefused(exc.reason, 415) from exc
    except MediaUnavailable as exc:
        # The person is told to send it again; nothing was recorded for the message.
        log.warning("media store unavailable msg=%s: %s", message_id, exc)
        failed = texts.VOICE_DOWNLOAD_FAILED if voice else texts.PHOTO_DOWNLOAD_FAILED
        raise PhotoRefused(failed, 503) from exc
