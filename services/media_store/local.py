"""The media store on a local folder (``CUNBOT_MEDIA_DIR``): the default, one host, or a
folder every host mounts."""

from __future__ import annotations

import asyncio
import mimetypes
from pathlib import Path

from services import media
from services.media_store.base import MediaStore, ObjectInfo, valid_key


class LocalStore(MediaStore):
    name = "local"

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path | None:
        return media.locate(self.root, key) if valid_key(key) else None

    async def path(self, key: str) -> Path | None:
        """The stored file (for a sendfile answer), or None."""
        return await asyncio.to_thread(self._path, key)

    async def exists(self, key: str) -> bool:
        return await self.path(key) is not None

    async def put_bytes(self, key: str, data: bytes, content_type: str) -> bool:
        if not valid_key(key):
            raise ValueError(f"bad media key {key[:80]!r}")
        return await asyncio.to_thread(media.put_bytes, self.root, Path(key), data)

    async def put_file(self, key: str, source: Path, content_type: str) -> bool:
        if not valid_key(key):
            raise ValueError(f"bad media key {key[:80]!r}")
        return await asyncio.to_thread(media.put_file, self.root, Path(key), source)

    async def read(self, key: str) -> bytes | None:
        def read() -> bytes | None:
            path = self._path(key)
            try:
                return path.read_bytes() if path is not None else None
            except FileNotFoundError:
                return None

        return await asyncio.to_thread(read)

    async def head(self, key: str) -> ObjectInfo | None:
        def stat() -> ObjectInfo | None:
            path = self._path(key)
            if path is None:
                return None
            kind = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            return ObjectInfo(path.stat().st_size, kind)

        return await asyncio.to_thread(stat)
