"""cunbot media push-to-s3: copy a local media folder into the object store.

For the move from ``CUNBOT_MEDIA_DIR`` to ``CUNBOT_MEDIA_URL=s3://…``: every stored file (photos,
thumbnails, voice notes, task attachments) goes to the same key under the bucket's prefix.
Keys are content-addressed, so the copy is idempotent: an object already there is skipped
(HEAD), and a run that stopped half way is simply started again. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import mimetypes
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from bot.config import Config
from services import media
from services.media_store import MediaStore, valid_key
from services.media_store.s3 import S3Store

CONCURRENCY = 8  # uploads at once
PROGRESS_SECONDS = 2.0
_TYPES = {
    **{ext: mime for mime, ext in media.VOICE_EXT.items()},
    ".jpg": "image/jpeg",
    ".png": "image/png",
    ".webp": "image/webp",
}


def add_parsers(sub: argparse._SubParsersAction) -> None:
    group = sub.add_parser("media", help="the media store (photos, voice notes, attachments)")
    msub = group.add_subparsers(dest="media_command", required=True)
    push = msub.add_parser(
        "push-to-s3",
        help="copy the local media folder into CUNBOT_MEDIA_URL's bucket (idempotent)",
    )
    push.add_argument(
        "--from",
        dest="source",
        type=Path,
        default=None,
        help="the folder to copy (default: CUNBOT_MEDIA_DIR)",
    )
    push.set_defaults(func=cmd_push_to_s3)


def content_type(key: str) -> str:
    suffix = Path(key).suffix.lower()
    return _TYPES.get(suffix) or mimetypes.guess_type(key)[0] or "application/octet-stream"


def _files(root: Path) -> tuple[list[str], int]:
    """The keys of the folder's stored files, and how many files were left out (temporary
    files of a write under way, names that are not media keys)."""
    keys, skipped = [], 0
    for path in sorted(root.rglob("*")):
        if not path.is_file():
            continue
        key = path.relative_to(root).as_posix()
        if key.endswith(".tmp") or not valid_key(key):
            skipped += 1
            continue
        keys.append(key)
    return keys, skipped


@dataclass
class Tally:
    total: int
    copied: int = 0
    present: int = 0

    @property
    def done(self) -> int:
        return self.copied + self.present

    def line(self) -> str:
        return f"{self.done}/{self.total} copied={self.copied} already_there={self.present}"


async def push(store: MediaStore, root: Path, keys: list[str], tally: Tally) -> None:
    """Copy with :data:`CONCURRENCY` workers taking the next key (a province's folder holds
    millions of files: no task per file)."""
    pending = iter(keys)
    shown = time.monotonic()

    async def worker() -> None:
        nonlocal shown
        for key in pending:  # the iterator is shared: each key is taken once
            if await store.put_file(key, root / key, content_type(key)):
                tally.copied += 1
            else:
                tally.present += 1
            if time.monotonic() - shown >= PROGRESS_SECONDS:
                shown = time.monotonic()
                print(tally.line(), file=sys.stderr, flush=True)

    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))


async def cmd_push_to_s3(config: Config, args: argparse.Namespace) -> int:
    store = config.media_store()
    if not isinstance(store, S3Store):
        print("CUNBOT_MEDIA_URL 未设置为 s3://桶名/前缀，无法复制", file=sys.stderr)
        return 2
    root = (args.source or config.core.media_dir).resolve()
    if not root.is_dir():
        print(f"本地媒体目录不存在：{root}", file=sys.stderr)
        return 2
    keys, skipped = await asyncio.to_thread(_files, root)
    tally = Tally(len(keys))
    print(f"{root} -> {config.core.media_url}: {len(keys)} files", file=sys.stderr)
    async with store:
        await push(store, root, keys, tally)
    print(f"{tally.line()} skipped={skipped}")
    return 0
