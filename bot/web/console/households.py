"""户 (一户一档), read-only: search by name or code (paged, village filter), one household's
file, and the households not visited for a month (the overview's figure, as a paged list)."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, SESSIONMAKER
from bot.web.console.render import page, query_id, query_page, render
from core.inputs import int_id
from services import console_households, console_imports, console_tasks
from services.console_auth import Current


@page("stale")
async def stale(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_tasks.stale_households(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            page=query_page(request),
            now=request.app[CLOCK].now(),
        )
    return render(
        request, "stale.html", signed=signed, title="久未走访的户", nav="overview", d=data
    )


@page("households")
async def search(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_households.search(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            query=request.query.get("q", ""),
            page=query_page(request),
        )
        villages = await console_households.village_choices(session, signed.person)
    return render(
        request,
        "households.html",
        signed=signed,
        title="户",
        nav="households",
        d=data,
        villages=villages,
        importer=console_imports.may_import(signed.person),
    )


@page("household")
async def household(request: web.Request, signed: Current) -> web.StreamResponse:
    household_id = int_id(request.match_info["household_id"]) or 0
    async with request.app[SESSIONMAKER]() as session:
        data = await console_households.household_file(
            session, signed.person, household_id, page=query_page(request)
        )
    return render(
        request,
        "household.html",
        signed=signed,
        title=data.household.head_name,
        nav="households",
        d=data,
    )


def setup(app: web.Application) -> None:
    # The fixed path first: it is matched before the one with an id.
    app.router.add_get("/console/households/stale", stale)
    app.router.add_get("/console/households", search)
    app.router.add_get("/console/households/{household_id}", household)
