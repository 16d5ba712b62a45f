"""导出: the month's ledgers of the person's region (or of a township within a county), made
in the background and downloaded from the job's page (bot.web.console.jobs).

    GET  /console/exports              the form (month, region) and the person's recent exports
    POST /console/exports              queue the export, 303 to its job page

The file is made by bot.reports.export_visits, the code the CLI's ``cunbot report visits``
runs, with the photo cells signed for the person who asked (valid
``CUNBOT_PHOTO_LINK_HOURS``).
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, RULES, SESSIONMAKER
from bot.reports import export_visits
from bot.web import signed as signed_links
from bot.web.console.jobs import RUNNER, results_dir
from bot.web.console.render import form, page, query_id, render
from core.inputs import int_id
from services import console, console_exports, jobs
from services import job_texts as JT
from services.console_auth import Current
from services.jobs import Outcome, Progress
from storage.jobs import JobDTO
from storage.people import PersonDTO


@page("exports")
async def export_form(request: web.Request, signed: Current) -> web.StreamResponse:
    app = request.app
    now = app[CLOCK].now()
    async with app[SESSIONMAKER]() as session:
        month = console.parse_month(request.query.get("month", "")[:20], now, app[RULES].timezone)
        region = query_id(request, "region")
        if region is not None:
            await console.scoped_region(session, signed.person, region)  # else Refused
        towns = await console.township_choices(session, signed.person)
        recent = await jobs.recent(session, signed.person, JT.EXPORT_KIND)
    return render(
        request,
        "exports.html",
        signed=signed,
        title="导出",
        nav="exports",
        month=month,
        months=console_exports.months(now, app[RULES].timezone),
        towns=towns,
        region=region,
        recent=recent,
    )


def _work(app: web.Application, me: PersonDTO, region_name: str):
    async def work(job: JobDTO, progress: Progress) -> Outcome:
        month = str(job.params["month"])
        name = f"{job.id}-{secrets.token_hex(8)}.xlsx"
        now = app[CLOCK].now()
        ttl = timedelta(hours=app[CONFIG].core.photo_link_hours)
        photo_link = signed_links.photo_signer(
            app[signed_links.MEDIA_KEY], app[CONFIG].public_url, me.id, now, ttl
        )
        async with app[SESSIONMAKER]() as session:
            result = await export_visits(
                session,
                job.region_id,
                month,
                app[RULES],
                results_dir(app) / name,
                now=now,
                prepared_by=me.name,
                photo_link=photo_link,
                progress=progress,
            )
        return Outcome(
            name,
            JT.EXPORT_NAME.format(region=region_name, month=month),
            {"visits": result.visits, "problems": result.problems, "tasks": result.tasks},
        )

    return work


@page("exports.request")
async def request_export(request: web.Request, signed: Current) -> web.StreamResponse:
    app = request.app
    data = await form(request)
    raw_region = data.get("region", "").strip()
    region_id = (int_id(raw_region) or 0) if raw_region else None
    async with app[SESSIONMAKER]() as session, session.begin():
        job, region = await console_exports.request_export(
            session,
            signed.person,
            region_id=region_id,
            month=data.get("month", ""),
            now=app[CLOCK].now(),
            tz=app[RULES].timezone,
        )
    app[RUNNER].spawn(job, _work(app, signed.person, region.name))
    return web.Response(status=303, headers={"Location": f"/console/jobs/{job.id}"})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/exports", export_form)
    app.router.add_post("/console/exports", request_export)
