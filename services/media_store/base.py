"""The media store's interface: stored files (photos, voice notes, thumbnails, task
attachments) by key, the key being the path under the media root (``ab/<sha256>.jpg``, see
services.media.content_path). Keys are content-addressed, so an object, once stored, never
changes its bytes: every ``put`` is a no-op when the key is already there.

Two backends: the local folder (services.media_store.local, the default) and S3-compatible
object storage (services.media_store.s3, when ``CUNBOT_MEDIA_URL=s3://bucket/prefix``).
Every method is a coroutine; the local one does its file work in a worker thread.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

# A key is relative, has no empty, "." or ".." segment and no backslash: it can neither leave
# the media folder nor name two objects in a bucket.
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")


def valid_key(key: str) -> bool:
    parts = key.split("/")
    return 0 < len(key) <= 300 and all(
        _SEGMENT.fullmatch(p) and p not in (".", "..") for p in parts
    )


class MediaUnavailable(OSError):
    """The store could not be reached or refused the request (not: no such object). Callers
    answer 503 / "try again", and WeCom's callback lets WeCom retry."""


@dataclass(frozen=True)
class ObjectInfo:
    size: int
    content_type: str
    etag: str = ""


class MediaStore(AbstractAsyncContextManager["MediaStore"]):
    """Open it (``async with store``) before use: the S3 backend opens its client there."""

    name: str  # "local" or "s3", for logs and the CLI

    async def __aenter__(self) -> MediaStore:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        return None

    @abstractmethod
    async def exists(self, key: str) -> bool: ...

    @abstractmethod
    async def put_bytes(self, key: str, data: bytes, content_type: str) -> bool:
        """Store ``data`` at ``key`` unless it is stored already; True when it was written."""

    @abstractmethod
    async def put_file(self, key: str, source: Path, content_type: str) -> bool:
        """Store the file at ``source`` (left in place) at ``key``, once; True when written."""

    @abstractmethod
    async def read(self, key: str) -> bytes | None:
        """The object's bytes, or None when there is none (or the key is not valid)."""

    @abstractmethod
    async def head(self, key: str) -> ObjectInfo | None: ...
