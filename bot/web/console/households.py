"""户: households not visited for a month (the overview's figure, as a paged list)."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, SESSIONMAKER
from bot.web.console.render import page, query_id, query_page, render
from services import console_tasks
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


def setup(app: web.Application) -> None:
    app.router.add_get("/console/households/stale", stale)
