"""Photos and voice notes, addressed by SHA-256: the same photo sent twice is stored once.

Image work (Pillow), not database storage: the channels store what people send
(``bot.channels.ingest``), the visit flow reads the EXIF time back (:func:`exif_local_to_utc`)
and the console's gallery asks for thumbnails (:func:`thumbnail`, made once, kept by SHA-256).

Validation looks at the bytes (magic number, then a full decode by Pillow), never the file
name. All image work runs in a worker thread, off the event loop. The bytes go to the media
store (services.media_store: the local folder, or S3-compatible object storage); the ``*_sync``
functions and :func:`put_bytes`, :func:`put_file`, :func:`locate` are the local folder's own.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import os
import re
import shutil
import weakref
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from PIL import Image, UnidentifiedImageError

from services.media_store.base import MediaStore

MAX_IMAGE_BYTES = 10 * 1024 * 1024
# Decoding costs 3-4 bytes a pixel (and a thumbnail copy): 40 megapixels is ~160 MB at worst,
# checked on the header before anything is decoded, and at most DECODE_CONCURRENCY decodes run
# at once per process, so a burst of big uploads waits instead of taking the memory.
MAX_PIXELS = 40_000_000
DECODE_CONCURRENCY = 2
TOO_MANY_PIXELS = f"照片像素太多了（最多 {MAX_PIXELS // 1_000_000} 百万像素），请缩小后再发送。"
UNREADABLE = "照片无法读取（文件可能已损坏），请重新拍摄或发送。"
THUMB_SIZE = (320, 320)
_MAGIC = {
    b"\xff\xd8\xff": "image/jpeg",
    b"\x89PNG\r\n\x1a\n": "image/png",
}
_SHA256 = re.compile(r"[0-9a-f]{64}")
_EXT = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp"}


class ImageRejected(ValueError):
    """The bytes are not an image we accept; ``reason`` is a Chinese message for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class StoredImage:
    sha256: str
    path: str  # relative to the media directory
    thumb_path: str
    mime: str
    size: int
    width: int
    height: int
    taken_at: str | None  # ISO local time from EXIF, when present
    kind: str = "photo"  # or "voice" (save_voice: thumb_path empty, width and height 0)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sniff_mime(data: bytes) -> str | None:
    for magic, mime in _MAGIC.items():
        if data.startswith(magic):
            return mime
    if len(data) >= 12 and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def _exif_time(img: Image.Image) -> str | None:
    try:
        exif = img.getexif()
        raw = exif.get_ifd(0x8769).get(36867) or exif.get(306)  # DateTimeOriginal, DateTime
    except Exception:  # broken EXIF is common on phones; the photo itself is still fine
        return None
    if not raw:
        return None
    try:
        # EXIF has no zone: keep the wall-clock reading and attach the zone when storing.
        return datetime.strptime(str(raw).strip(), "%Y:%m:%d %H:%M:%S").isoformat()  # noqa: DTZ007
    except ValueError:
        return None


def _decode(data: bytes) -> tuple[io.BytesIO, int, int, str | None]:
    """Check the pixel count on the header (``Image.open`` is lazy: it reads the size and
    decodes nothing), verify, decode once and make the JPEG thumbnail."""
    with Image.open(io.BytesIO(data)) as probe:
        if probe.width * probe.height > MAX_PIXELS:
            raise ImageRejected(TOO_MANY_PIXELS)
        probe.verify()
    with Image.open(io.BytesIO(data)) as img:
        img.load()
        width, height = img.size
        taken = _exif_time(img)
        if img.mode in ("1", "L", "LA", "RGB", "RGBA"):  # shrink first: no full-size copy
            img.thumbnail(THUMB_SIZE)
            thumb = img.convert("RGB")
        else:
            thumb = img.convert("RGB")
            thumb.thumbnail(THUMB_SIZE)
        buf = io.BytesIO()
        thumb.save(buf, "JPEG", quality=80)
    return buf, width, height, taken


def _prepare_image(data: bytes, max_bytes: int) -> tuple[StoredImage, bytes]:
    """Check and decode the photo: what will be stored, and its JPEG thumbnail's bytes."""
    if len(data) > max_bytes:
        raise ImageRejected(
            f"图片太大（{len(data) // 1024 // 1024} MB），请发送 {max_bytes // 1024 // 1024} MB 以内的照片。"
        )
    mime = sniff_mime(data)
    if mime is None:
        raise ImageRejected("只能接收 JPG、PNG 或 WebP 格式的照片，这个文件不是图片。")
    buf, width, height, taken = _checked_decode(data)
    digest = hashlib.sha256(data).hexdigest()
    rel = content_path(digest, _EXT[mime])
    thumb_rel = thumb_path(digest)
    stored = StoredImage(digest, str(rel), str(thumb_rel), mime, len(data), width, height, taken)
    return stored, buf.getvalue()


def save_image_sync(media_dir: Path, data: bytes, max_bytes: int = MAX_IMAGE_BYTES) -> StoredImage:
    """:func:`save_image` into a local media folder, in the calling thread."""
    stored, thumb = _prepare_image(data, max_bytes)
    put_bytes(media_dir, Path(stored.path), data)
    put_bytes(media_dir, Path(stored.thumb_path), thumb)
    return stored


def _checked_decode(data: bytes) -> tuple[io.BytesIO, int, int, str | None]:
    try:
        return _decode(data)
    except ImageRejected:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageRejected(TOO_MANY_PIXELS) from exc
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError) as exc:
        raise ImageRejected(UNREADABLE) from exc


def thumb_path(sha256: str) -> Path:
    """Where a photo's JPEG thumbnail lives, relative to the media directory (by SHA-256)."""
    return content_path(sha256, ".thumb.jpg")


def _thumb_bytes(data: bytes) -> bytes | None:
    try:
        return _checked_decode(data)[0].getvalue()
    except ImageRejected:
        return None


async def thumbnail(store: MediaStore, sha256: str, rel: str) -> str | None:
    """The key of the photo's JPEG thumbnail, made from the stored photo the first time it is
    asked for (photos stored before thumbnails, or whose thumbnail was removed) and kept by
    SHA-256; None when the photo is missing or unreadable. The decode runs in a worker
    thread, under the decode gate."""
    if not _SHA256.fullmatch(sha256):
        return None
    key = str(thumb_path(sha256))
    if await store.exists(key):
        return key
    data = await store.read(rel)
    if data is None:
        return None
    async with _gate():
        thumb = await asyncio.to_thread(_thumb_bytes, data)
    if thumb is None:
        return None
    await store.put_bytes(key, thumb, "image/jpeg")
    return key


# --- the local media folder (services.media_store.local) -----------------------------------


def content_path(digest: str, suffix: str) -> Path:
    """Where the file with this SHA-256 lives, relative to the media directory."""
    return Path(digest[:2]) / (digest + suffix)


def put_bytes(media_dir: Path, rel: Path, data: bytes) -> bool:
    """Store ``data`` at ``rel`` once (content-addressed paths never change their bytes);
    True when it was written."""
    target = media_dir / rel
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, target)  # atomic: a reader never sees half a file
    return True


def put_file(media_dir: Path, rel: Path, source: Path) -> bool:
    """Move the file at ``source`` (on the same disk, e.g. an upload staged under var/) to
    ``rel``, once; when ``rel`` is already stored the source is left where it is."""
    target = media_dir / rel
    if target.exists():
        return False
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + f".{os.getpid()}.tmp")
    shutil.copyfile(source, tmp)
    os.replace(tmp, target)
    return True


def locate(media_dir: Path, rel: str) -> Path | None:
    """The stored file at ``rel``, or None (missing, or a path that leaves the media dir)."""
    base = media_dir.resolve()
    target = (base / rel).resolve()
    return target if target.is_relative_to(base) and target.is_file() else None


async def save_image(
    store: MediaStore, data: bytes, max_bytes: int = MAX_IMAGE_BYTES
) -> StoredImage:
    """Validate and store an uploaded photo and its thumbnail (decoded in a worker thread, at
    most :data:`DECODE_CONCURRENCY` at once in this process)."""
    async with _gate():
        stored, thumb = await asyncio.to_thread(_prepare_image, data, max_bytes)
    # Both at once (with object storage each is a HEAD and maybe a PUT); both finish before a
    # failure of either is raised.
    for outcome in await asyncio.gather(
        store.put_bytes(stored.path, data, stored.mime),
        store.put_bytes(stored.thumb_path, thumb, "image/jpeg"),
        return_exceptions=True,
    ):
        if isinstance(outcome, BaseException):
            raise outcome
    return stored


_gates: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _gate() -> asyncio.Semaphore:
    """The decode semaphore of the running loop (a semaphore belongs to one loop)."""
    loop = asyncio.get_running_loop()
    gate = _gates.get(loop)
    if gate is None:
        gate = _gates[loop] = asyncio.Semaphore(DECODE_CONCURRENCY)
    return gate


def exif_local_to_utc(taken_at: str | None, zone: ZoneInfo) -> datetime | None:
    """EXIF times carry no zone; phones write local time."""
    if not taken_at:
        return None
    try:
        return datetime.fromisoformat(taken_at).replace(tzinfo=zone)
    except ValueError:
        return None


# --- voice notes -----------------------------------------------------------------------------
# Stored like photos (once per SHA-256, type decided by the bytes), not decoded: a voice note
# is only kept and played back. WeCom sends AMR, Telegram OGG/Opus, DingTalk's robot a file
# (OGG/AMR/MP3/M4A as the client recorded it) and browsers WebM or OGG from MediaRecorder.
MAX_VOICE_BYTES = 5 * 1024 * 1024  # ~5 minutes of Opus at 128 kbit/s; chat voice is far less
VOICE_EXT = {
    "audio/amr": ".amr",
    "audio/ogg": ".ogg",
    "audio/webm": ".webm",
    "audio/mpeg": ".mp3",
    "audio/mp4": ".m4a",
}
VOICE_TOO_BIG = "语音太长了（最多 {mb} MB），请分几段发送。"
NOT_VOICE = "这个文件不是能识别的语音（支持 AMR、OGG、WebM、MP3、M4A），请重新录制。"


def sniff_audio(data: bytes) -> str | None:
    """The audio type by its first bytes (never the file name or the announced type)."""
    if data.startswith(b"#!AMR"):
        return "audio/amr"
    if data.startswith(b"OggS"):
        return "audio/ogg"
    if data.startswith(b"\x1a\x45\xdf\xa3"):
        return "audio/webm"
    if data.startswith(b"ID3") or (len(data) > 1 and data[0] == 0xFF and data[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    if len(data) >= 12 and data[4:8] == b"ftyp":
        return "audio/mp4"
    return None


def _check_voice(data: bytes, max_bytes: int) -> StoredImage:
    if len(data) > max_bytes:
        raise ImageRejected(VOICE_TOO_BIG.format(mb=max_bytes // 1024 // 1024))
    mime = sniff_audio(data)
    if mime is None or len(data) < 16:
        raise ImageRejected(NOT_VOICE)
    digest = hashlib.sha256(data).hexdigest()
    rel = content_path(digest, VOICE_EXT[mime])
    return StoredImage(digest, str(rel), "", mime, len(data), 0, 0, None, kind="voice")


def save_voice_sync(media_dir: Path, data: bytes, max_bytes: int = MAX_VOICE_BYTES) -> StoredImage:
    """:func:`save_voice` into a local media folder, in the calling thread."""
    stored = _check_voice(data, max_bytes)
    put_bytes(media_dir, Path(stored.path), data)
    return stored


async def save_voice(
    store: MediaStore, data: bytes, max_bytes: int = MAX_VOICE_BYTES
) -> StoredImage:
    """Check and store a voice note; a :class:`StoredImage` of kind voice (no thumbnail)."""
    stored = await asyncio.to_thread(_check_voice, data, max_bytes)
    await store.put_bytes(stored.path, data, stored.mime)
    return stored
