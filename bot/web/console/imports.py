"""导入户籍表: county and township staff upload a household roster (CSV or XLSX), imported in
the background all-or-nothing by the code of ``cunbot households import``
(bot.household_import), limited to the villages of their region.

    GET  /console/households/import    the form (and the person's recent imports)
    POST /console/households/import    check size and type (by the bytes), store the upload,
                                       queue the import, 303 to its job page

The job page (bot.web.console.jobs) shows the progress, then the counts, or the row errors
(row, column, reason) of a file that changed nothing.
"""

from __future__ import annotations

import asyncio
import secrets
import shutil
from pathlib import Path

from aiohttp import web

from bot.appkeys import CLOCK, SESSIONMAKER
from bot.household_import import Importer, import_file
from bot.web.console import uploads
from bot.web.console.jobs import RUNNER, results_dir
from bot.web.console.render import page, render
from core.errors import Invalid
from services import console_imports, jobs, scope
from services import job_texts as JT
from services.attachments import Received
from services.console_auth import Current
from services.jobs import JobFailed, Outcome, Progress
from storage.jobs import JobDTO
from storage.people import PersonDTO

PROGRESS_EVERY = 500  # rows between progress updates
SNIFF_BYTES = 4096


@page("households.import")
async def import_form(request: web.Request, signed: Current) -> web.StreamResponse:
    scope.require_role(signed.person, console_imports.IMPORT_ROLES, JT.IMPORT_WHAT)
    async with request.app[SESSIONMAKER]() as session:
        recent = await jobs.recent(session, signed.person, JT.IMPORT_KIND)
    return render(
        request,
        "import.html",
        signed=signed,
        title="导入户籍表",
        nav="households",
        recent=recent,
        max_mb=console_imports.MAX_BYTES // (1024 * 1024),
    )


def _store(upload: Received, folder: Path) -> tuple[str, int]:
    """Check the upload (size, type by its first bytes) and move it into ``folder``: (stored
    file name, size). The form reader wrote it to an incoming folder, which goes either way.
    Runs in a worker thread."""
    try:
        if upload.truncated or upload.size > console_imports.MAX_BYTES:
            raise Invalid(JT.TOO_BIG.format(mb=console_imports.MAX_BYTES // (1024 * 1024)))
        with upload.path.open("rb") as source:
            suffix = console_imports.sniff(source.read(SNIFF_BYTES))
        if suffix is None:
            raise Invalid(JT.BAD_TYPE, field="file")
        name = f"upload-{secrets.token_hex(12)}{suffix}"
        shutil.move(upload.path, folder / name)
        return name, upload.size
    finally:
        shutil.rmtree(upload.path.parent, ignore_errors=True)


def _work(app: web.Application, me: PersonDTO, upload: Path, allowed: frozenset[int]):
    async def work(job: JobDTO, progress: Progress) -> Outcome:
        def report(_stage: str, done: int, total: int) -> None:
            progress(done, total)

        by = Importer(me.id, allowed, str(job.params.get("file", "")))
        try:
            result = await import_file(
                app[SESSIONMAKER], upload, app[CLOCK].now(), report, PROGRESS_EVERY, by
            )
        finally:
            await asyncio.to_thread(upload.unlink, missing_ok=True)
        if not result.ok:
            errors = [(e.line, e.column, e.reason) for e in result.errors]
            raise JobFailed(
                JT.IMPORT_FAILED.format(n=len(errors)), console_imports.error_summary(errors)
            )
        progress(result.rows, result.rows)
        return Outcome(
            summary={
                "rows": result.rows,
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
            }
        )

    return work


@page("households.import_request")
async def import_request(request: web.Request, signed: Current) -> web.StreamResponse:
    app = request.app
    me = signed.person
    scope.require_role(me, console_imports.IMPORT_ROLES, JT.IMPORT_WHAT)
    form = uploads.posted(request)  # read once, streamed to disk, by the CSRF check
    if form.broken or not form.files:
        for extra in form.files:
            await asyncio.to_thread(shutil.rmtree, extra.path.parent, True)
        raise Invalid(JT.NO_FILE, field="file")
    upload, *extras = form.files
    for extra in extras:  # the form has one file field: anything more is dropped
        await asyncio.to_thread(shutil.rmtree, extra.path.parent, True)
    folder = results_dir(app)
    stored, size = await asyncio.to_thread(_store, upload, folder)
    try:
        async with app[SESSIONMAKER]() as session, session.begin():
            allowed = await console_imports.allowed_villages(session, me)
            job = await console_imports.request_import(
                session,
                me,
                # Some clients percent-encode the name (aiohttp does); browsers send UTF-8.
                file_name=Path(upload.name).name,
                size=size,
                stored=stored,
                now=app[CLOCK].now(),
            )
    except BaseException:
        await asyncio.to_thread((folder / stored).unlink, missing_ok=True)
        raise
    app[RUNNER].spawn(job, _work(app, me, folder / stored, allowed))
    return web.Response(status=303, headers={"Location": f"/console/jobs/{job.id}"})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/households/import", import_form)
    app.router.add_post("/console/households/import", import_request)
