"""Background jobs in the console (services.jobs): the process's runner, and one job's page.

    GET  /console/jobs/{id}            the job: status, progress bar (the page refreshes itself
                                       while it runs, no JavaScript needed), then the download
                                       link of an export or the result or row errors of an import
    GET  /console/jobs/{id}/progress   the same as a small JSON object, for scripts
    GET  /console/jobs/{id}/file       an export's file, for the person who asked for it only

Any process answers these from the job's row, whichever process runs the job. Another
person's job id answers 404 like an unknown one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import quote

from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, SESSIONMAKER
from bot.web.console.render import page, render
from core.inputs import int_id
from services import console_exports, jobs
from services.console_auth import Current
from services.jobs import JobRunner
from storage.jobs import JobDTO

log = logging.getLogger(__name__)

RUNNER = web.AppKey("job_runner", JobRunner)
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
REFRESH_SECONDS = 2


def results_dir(app: web.Application) -> Path:
    return app[CONFIG].core.var_dir / "jobs"


async def runner_ctx(app: web.Application) -> AsyncIterator[None]:
    """The runner lives with the app: a sweep at start-up (jobs of a process that died and went
    stale are marked failed, expired ones deleted), then heartbeats every few seconds and a
    sweep every minute; at shutdown the jobs still
    running are cancelled and marked failed."""
    folder = results_dir(app)
    await asyncio.to_thread(folder.mkdir, parents=True, exist_ok=True)
    runner = JobRunner(app[SESSIONMAKER], app[CLOCK], folder)
    app[RUNNER] = runner
    try:
        await runner.sweep()
    except Exception:  # the database away at start-up: the minute's sweep tries again
        log.exception("jobs: start-up sweep failed")
    loop = asyncio.create_task(runner.run_forever(), name="jobs")
    yield
    loop.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await loop
    await runner.stop()


def _job_id(request: web.Request) -> int:
    return int_id(request.match_info["job_id"]) or 0


async def _owned(request: web.Request, signed: Current) -> JobDTO:
    async with request.app[SESSIONMAKER]() as session:
        return await jobs.owned(session, signed.person, _job_id(request))


@page("job")
async def job_page(request: web.Request, signed: Current) -> web.StreamResponse:
    job = await _owned(request, signed)
    return render(
        request,
        "job.html",
        signed=signed,
        title="导出" if job.kind == "export" else "导入户籍表",
        nav="exports" if job.kind == "export" else "households",
        job=job,
        refresh=REFRESH_SECONDS if job.active else 0,
    )


@page("job.progress")
async def job_progress(request: web.Request, signed: Current) -> web.StreamResponse:
    job = await _owned(request, signed)
    return web.json_response(
        {
            "id": job.id,
            "kind": job.kind,
            "status": job.status,
            "done": job.done,
            "total": job.total,
            "share": round(job.share, 4),
            "error": job.error,
            "file": f"/console/jobs/{job.id}/file" if job.result_path else None,
        },
        headers={"Cache-Control": "no-store"},
    )


@page("job.file")
async def job_file(request: web.Request, signed: Current) -> web.StreamResponse:
    app = request.app
    async with app[SESSIONMAKER]() as session, session.begin():
        job = await console_exports.download(
            session, signed.person, _job_id(request), now=app[CLOCK].now()
        )
        path = await asyncio.to_thread(jobs.result_file, results_dir(app), job)
        if path is None:
            raise console_exports.not_ready(job)
    name = job.result_name or path.name
    return web.FileResponse(
        path,
        headers={
            "Content-Type": XLSX,
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
            "Cache-Control": "no-store",
        },
    )


def setup(app: web.Application) -> None:
    app.cleanup_ctx.append(runner_ctx)
    app.router.add_get("/console/jobs/{job_id}", job_page)
    app.router.add_get("/console/jobs/{job_id}/progress", job_progress)
    app.router.add_get("/console/jobs/{job_id}/file", job_file)
