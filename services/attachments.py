"""Task attachments (附件): PDF, DOCX and XLSX files a sender attaches to a task for the
villages to download.

The way of a file: the console form streams each upload to an incoming folder under
var/uploads (bot.web.console.uploads); :func:`stage` checks it (size, count, and the type by
its bytes: ``%PDF-``, or a zip whose ``[Content_Types].xml`` names a Word document or an Excel
workbook and that holds ``word/document.xml`` or ``xl/workbook.xml``) and keeps it in a
staging batch (a folder with a manifest naming the person) while the preview is shown; on
确认发送 :func:`attach` moves the files into the media store (services.media, one copy per
SHA-256, like photos) and writes a ``task_files`` row and an audit row each. A batch nobody
confirms is removed after :data:`STAGING_TTL` (:func:`sweep`).

Who may download: :func:`for_download` (the sender, and anyone whose region holds a village
the task was assigned to); everyone else gets the same answer as for an unknown file.
File work runs in worker threads, off the event loop.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import shutil
import unicodedata
import zipfile
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

from core.errors import Invalid
from services import attachment_texts as T
from services import media
from services.media_store import MediaStore, MediaUnavailable
from storage import audit, task_files
from storage.session import AsyncSession
from storage.task_files import TaskFileDTO

MAX_FILE_BYTES = 20 * 1024 * 1024  # each file; CUNBOT_ATTACHMENT_MAX_BYTES may lower it
MAX_FILES = 5  # per task
MAX_NAME = 80  # characters of a file name as the villages see it
STAGING_TTL = timedelta(hours=2)
MAX_CONTENT_TYPES = 1024 * 1024  # bytes of [Content_Types].xml we are willing to read
MANIFEST = "manifest.json"
BATCH_ID = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


@dataclass(frozen=True)
class Kind:
    mime: str
    suffix: str


KINDS = {
    "pdf": Kind("application/pdf", ".pdf"),
    "docx": Kind(
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"
    ),
    "xlsx": Kind("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ".xlsx"),
}
# The zip member that makes an OOXML file a document or a workbook, and its main part's type.
_OOXML = {
    "docx": ("word/document.xml", b"wordprocessingml.document.main+xml"),
    "xlsx": ("xl/workbook.xml", b"spreadsheetml.sheet.main+xml"),
}


@dataclass(frozen=True)
class Received:
    """One uploaded file as the form reader wrote it: ``path`` in the incoming folder;
    ``size`` counts every byte sent (``truncated``: more than the limit came, not all kept)."""

    name: str
    path: Path
    size: int
    sha256: str
    truncated: bool = False


@dataclass(frozen=True)
class Staged:
    """A checked file waiting in a staging batch for 确认发送."""

    name: str
    size: int
    kind: str
    sha256: str
    file: str  # its name inside the batch folder


@dataclass(frozen=True)
class Batch:
    """The files a person has uploaded for one task form, in ``folder`` until 确认发送."""

    id: str
    person_id: int
    created_at: datetime
    folder: Path
    files: tuple[Staged, ...] = ()


def human_size(size: int) -> str:
    if size >= 1024 * 1024:
        mb = size / 1024 / 1024
        return f"{mb:.0f} MB" if size % (1024 * 1024) == 0 else f"{mb:.1f} MB"
    return f"{max(1, round(size / 1024))} KB"


def clean_name(raw: str, kind: str) -> str:
    """The name the villages see: the last path part, no control characters, at most
    :data:`MAX_NAME` characters, ending in the suffix of what the bytes are."""
    base = re.split(r"[\\/]", raw)[-1]
    base = "".join(
        c for c in unicodedata.normalize("NFC", base) if unicodedata.category(c)[0] != "C"
    )
    base = base.strip().strip(".") or "附件"
    suffix = KINDS[kind].suffix
    stem = base[: -len(suffix)] if base.lower().endswith(suffix) else base
    return stem[: MAX_NAME - len(suffix)].strip() + suffix


def sniff(path: Path) -> str | None:
    """What the file is by its bytes: "pdf", "docx", "xlsx", or None."""
    with path.open("rb") as fh:
        head = fh.read(8)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if not head.startswith(b"PK\x03\x04"):
        return None
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            info = archive.getinfo("[Content_Types].xml")
            if info.file_size > MAX_CONTENT_TYPES:
                return None
            types = archive.read(info)
    # zipfile raises NotImplementedError for a compression method it cannot read: such a
    # file is refused like any other unreadable archive.
    except (zipfile.BadZipFile, KeyError, OSError, ValueError, NotImplementedError, EOFError):
        return None
    for kind, (member, main) in _OOXML.items():
        if member in names and main in types:
            return kind
    return None


# --- staging ------------------------------------------------------------------------------


def incoming_dir(staging_dir: Path) -> Path:
    """A fresh folder for the files of one posted form."""
    path = staging_dir / f"in-{secrets.token_urlsafe(12)}"
    path.mkdir(parents=True)
    return path


def _batch_dir(staging_dir: Path, batch_id: str) -> Path:
    return staging_dir / f"batch-{batch_id}"


def _write_manifest(batch: Batch) -> None:
    data = {
        "person_id": batch.person_id,
        "created_at": batch.created_at.isoformat(),
        "files": [asdict(f) for f in batch.files],
    }
    target = batch.folder / MANIFEST
    tmp = target.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False))
    os.replace(tmp, target)


def _read_batch(staging_dir: Path, batch_id: str, person_id: int, now: datetime) -> Batch:
    expired = Invalid(
        T.EXPIRED.format(hours=int(STAGING_TTL.total_seconds() // 3600)), field="files"
    )
    if not BATCH_ID.match(batch_id):
        raise expired
    try:
        data = json.loads((_batch_dir(staging_dir, batch_id) / MANIFEST).read_text())
        created = datetime.fromisoformat(data["created_at"])
        files = tuple(Staged(**f) for f in data["files"])
        owner = int(data["person_id"])
    except (OSError, ValueError, KeyError, TypeError):
        raise expired from None
    if owner != person_id or created + STAGING_TTL <= now:
        raise expired
    return Batch(batch_id, owner, created, _batch_dir(staging_dir, batch_id), files)


def _check(received: Received, limit: int) -> str:
    """The kind of an uploaded file, or Invalid with the reason."""
    if received.truncated or received.size > limit:
        raise Invalid(
            T.TOO_BIG.format(
                name=received.name[:MAX_NAME],
                size=human_size(received.size),
                limit=human_size(limit),
            ),
            field="files",
        )
    kind = sniff(received.path)
    if kind is None:
        raise Invalid(T.WRONG_TYPE.format(name=received.name[:MAX_NAME]), field="files")
    return kind


def stage_sync(
    staging_dir: Path,
    person_id: int,
    carried: str,
    received: list[Received],
    *,
    now: datetime,
    limit: int,
) -> Batch | None:
    """Add the files of one posted form to the person's batch (``carried``: the batch the
    form came back with, "" for none). All or nothing: a refused file refuses the post, and
    the batch stays as it was. None when there are no files at all."""
    try:
        if carried:
            batch = _read_batch(staging_dir, carried, person_id, now)
        else:
            new_id = secrets.token_urlsafe(16)
            batch = Batch(new_id, person_id, now, _batch_dir(staging_dir, new_id))
        if len(batch.files) + len(received) > MAX_FILES:
            raise Invalid(T.TOO_MANY.format(n=MAX_FILES), field="files")
        checked = [(r, _check(r, limit)) for r in received]
        if not checked:
            return batch if batch.files else None
        batch.folder.mkdir(parents=True, exist_ok=True)
        added = []
        for r, kind in checked:
            file = secrets.token_hex(8)
            os.replace(r.path, batch.folder / file)
            added.append(Staged(clean_name(r.name, kind), r.size, kind, r.sha256, file))
        batch = replace(batch, files=batch.files + tuple(added))
        _write_manifest(batch)
        return batch
    finally:
        _drop_sync(received)


def _drop_sync(received: list[Received]) -> None:
    for r in received:
        r.path.unlink(missing_ok=True)
        _remove_empty(r.path.parent)


async def drop(received: list[Received]) -> None:
    """Remove uploaded files that will not be staged (the form they came with failed)."""
    await asyncio.to_thread(_drop_sync, received)


def _remove_empty(folder: Path) -> None:
    try:
        folder.rmdir()
    except OSError:
        pass  # not empty (another file of the post), or gone


async def stage(
    staging_dir: Path,
    person_id: int,
    carried: str,
    received: list[Received],
    *,
    now: datetime,
    limit: int,
) -> Batch | None:
    return await asyncio.to_thread(
        stage_sync, staging_dir, person_id, carried, received, now=now, limit=limit
    )


async def load(staging_dir: Path, batch_id: str, person_id: int, now: datetime) -> Batch:
    """The person's batch, for 确认发送 (Invalid when it has expired or is not theirs)."""
    return await asyncio.to_thread(_read_batch, staging_dir, batch_id, person_id, now)


async def discard(batch: Batch) -> None:
    """Remove a batch once its task is sent (its files are in the media store)."""
    await asyncio.to_thread(shutil.rmtree, batch.folder, True)


def sweep_sync(staging_dir: Path, now: datetime) -> int:
    """Remove staged and incoming folders older than :data:`STAGING_TTL`; how many."""
    if not staging_dir.is_dir():
        return 0
    cutoff = (now - STAGING_TTL).timestamp()
    gone = 0
    for entry in staging_dir.iterdir():
        try:
            old = entry.is_dir() and entry.stat().st_mtime < cutoff
        except OSError:
            continue
        if old:
            shutil.rmtree(entry, ignore_errors=True)
            gone += 1
    return gone


async def sweep(staging_dir: Path, now: datetime) -> int:
    return await asyncio.to_thread(sweep_sync, staging_dir, now)


# --- attaching and downloading ------------------------------------------------------------


async def attach(
    session: AsyncSession,
    task_id: int,
    batch: Batch,
    *,
    store: MediaStore,
    person_id: int,
    now: datetime,
) -> list[TaskFileDTO]:
    """Store the batch's files in the media store and link them to the task (audited)."""
    out = []
    for staged in batch.files:
        kind = KINDS[staged.kind]
        rel = str(media.content_path(staged.sha256, kind.suffix))
        try:
            await store.put_file(rel, batch.folder / staged.file, kind.mime)
        except MediaUnavailable as exc:
            # The task is not made (the caller's transaction rolls back); the batch is kept.
            raise Invalid(T.STORE_UNAVAILABLE, field="files") from exc
        row = await task_files.add(
            session,
            task_id,
            name=staged.name,
            size=staged.size,
            mime=KINDS[staged.kind].mime,
            sha256=staged.sha256,
            path=rel,
            uploaded_by=person_id,
            now=now,
        )
        await audit.log(
            session,
            at=now,
            person_id=person_id,
            action="task.attach",
            obj=f"task:{task_id}",
            detail={"file": row.id, "name": row.name, "size": row.size, "sha256": row.sha256},
        )
        out.append(row)
    return out


async def of_task(session: AsyncSession, task_id: int) -> list[TaskFileDTO]:
    return await task_files.of_task(session, task_id)


async def for_download(session: AsyncSession, person_id: int, file_id: int) -> TaskFileDTO | None:
    """The attachment if this person may download it; None for an unknown one and for one
    outside their scope alike."""
    row = await task_files.get(session, file_id)
    if row is None or not await task_files.may_download(session, person_id, row.task_id):
        return None
    return row
