"""Real files for the attachment tests (a PDF made by Pillow, an XLSX made by openpyxl, a
DOCX zipped by hand with its content types) and a task that carries one, made through the
same service calls the console form uses."""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import aiohttp
from openpyxl import Workbook
from PIL import Image

from services import attachments
from services import tasks as task_service
from services.attachments import Received
from services.media_store import MediaStore
from services.media_store.local import LocalStore

DOCX_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/'
    'package/2006/content-types"><Override PartName="/word/document.xml" ContentType="'
    'application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"/></Types>'
)


def pdf_bytes(color: tuple[int, int, int] = (200, 200, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (60, 40), color).save(buf, "PDF")
    return buf.getvalue()


def xlsx_bytes(title: str = "入户登记表") -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["户主", "人口", "联系电话"])
    sheet.append([title, 3, ""])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def docx_bytes() -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", DOCX_TYPES)
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def zip_bytes() -> bytes:
    """A zip that is not an Office file (no [Content_Types].xml)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("readme.txt", "not a workbook")
    return buf.getvalue()


def multipart(fields: list[tuple[str, str]], files: list[tuple[str, bytes]]) -> aiohttp.FormData:
    """The form as a browser sends it: the text fields (csrf first), then the files."""
    form = aiohttp.FormData()
    for name, value in fields:
        form.add_field(name, value)
    for filename, data in files:
        form.add_field("files", data, filename=filename, content_type="application/octet-stream")
    return form


def received(staging: Path, name: str, data: bytes) -> Received:
    folder = attachments.incoming_dir(staging)
    path = folder / "upload"
    path.write_bytes(data)
    return Received(name, path, len(data), hashlib.sha256(data).hexdigest())


async def task_with_file(
    sm,
    facts,
    clock,
    rules,
    var_dir: Path,
    scope: dict,
    store: MediaStore | None = None,
    pdf: bytes | None = None,
) -> tuple[int, int]:
    """A county task to ``scope`` with one PDF attachment (``pdf``, else a new one): (task
    number, file id); the file goes to ``store`` (default: the local folder var_dir/media)."""
    now = clock.now()
    rules = replace(rules, media_dir=var_dir / "media")
    store = store or LocalStore(rules.media_dir)
    staging = var_dir / "uploads"
    batch = attachments.stage_sync(
        staging,
        facts.world.people["county0"].id,
        "",
        [received(staging, "填报说明.pdf", pdf or pdf_bytes((10, 20, 30)))],
        now=now,
        limit=attachments.MAX_FILE_BYTES,
    )
    assert batch is not None
    async with sm() as s, s.begin():
        made = await task_service.create_task(
            s,
            facts.world.people["county0"],
            task_service.TaskDraft(
                kind="task",
                title="填报低保台账",
                deadline=now + timedelta(days=3),
                scope=scope,
                attachments=batch,
            ),
            now=now,
            rules=rules,
            media=store,
        )
        files = await attachments.of_task(s, made.task.id)
    return made.task.number, files[0].id
