"""概览: the month's figures of the person's region (or of a township or village within it)."""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console.chart import coverage_chart
from bot.web.console.render import page, query_id, render
from services import console
from services.console_auth import Current


@page("overview")
async def overview(request: web.Request, signed: Current) -> web.StreamResponse:
    now, rules = request.app[CLOCK].now(), request.app[RULES]
    month = console.parse_month(request.query.get("month"), now, rules.timezone)
    async with request.app[SESSIONMAKER]() as session:
        data = await console.overview(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            month=month,
            now=now,
            rules=rules,
        )
    link = {c.region_id: f"/console?region={c.region_id}&month={month}" for c in data.towns}
    link.update(
        {c.region_id: f"/console?region={c.region_id}&month={month}" for c in data.villages}
    )
    return render(
        request,
        "overview.html",
        signed=signed,
        title="概览",
        nav="overview",
        o=data,
        towns_chart=coverage_chart(data.towns, data.goal, link),
        villages_chart=coverage_chart(data.villages, data.goal, link),
    )


def setup(app: web.Application) -> None:
    app.router.add_get("/console", overview)
