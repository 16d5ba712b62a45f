"""户 (一户一档): search by name or code (paged, village filter, retired households on
request), one household's file with its change history and, for staff, the edit forms
(bot.web.console.household_forms), and the households not visited for a month (the overview's
figure, as a paged list)."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.render import page, query_id, query_page, render
from core.inputs import int_id
from services import console, console_households, console_imports, console_tasks
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


def this_month(request: web.Request) -> str:
    """The current local month, ``YYYY-MM``."""
    return console.parse_month(None, request.app[CLOCK].now(), request.app[RULES].timezone)


@page("households")
async def search(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_households.search(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            query=request.query.get("q", ""),
            page=query_page(request),
            retired=request.query.get("retired") == "1",
            category=request.query.get("category", ""),
            unvisited_in=this_month(request) if request.query.get("unvisited") == "1" else None,
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
        may_add=console_households.may_edit(signed.person),
        importer=console_imports.may_import(signed.person),
    )


def household_id(request: web.Request) -> int:
    return int_id(request.match_info["household_id"]) or 0


async def household_page(
    request: web.Request,
    signed: Current,
    *,
    error: str = "",
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> web.Response:
    """The household's file; a failed edit comes back here with its reason and what was typed."""
    async with request.app[SESSIONMAKER]() as session:
        data = await console_households.household_file(
            session, signed.person, household_id(request), page=query_page(request)
        )
    return render(
        request,
        "household.html",
        status=status,
        signed=signed,
        title=data.household.head_name,
        nav="households",
        d=data,
        error=error,
        typed=typed or {},
        done=T.HOUSEHOLD_DONE.get(request.query.get("done", ""), ""),
    )


@page("household")
async def household(request: web.Request, signed: Current) -> web.StreamResponse:
    return await household_page(request, signed)


def setup(app: web.Application) -> None:
    # The fixed path first: it is matched before the one with an id.
    app.router.add_get("/console/households/stale", stale)
    app.router.add_get("/console/households", search)
    app.router.add_get("/console/households/{household_id}", household)
