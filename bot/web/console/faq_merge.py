"""合并到已有问答: answer a queued question with an existing entry's answer.

    GET  /console/faq/{number}/merge   the question, and entries to pick from (q, page)
    POST /console/faq/{number}/merge   faq_id: answer with that entry (services.faq_entries.merge)

The answer goes to the asker through the same use case as 答复 (services.faq.answer); the
question is added to the entry's example questions when the entry is the county's own, and
this process's index is then rebuilt in the background (faq_refresh).
"""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import faq_refresh
from bot.web.console.render import page, query_page, render
from core.errors import Conflict
from core.inputs import int_id
from services import faq, faq_entries
from services.console_auth import Current


def _number(request: web.Request) -> int:
    return int_id(request.match_info["number"]) or 0


async def _show(
    request: web.Request,
    signed: Current,
    *,
    text: str = "",
    page_no: int = 1,
    error: str = "",
    status: int = 200,
) -> web.Response:
    number = _number(request)
    async with request.app[SESSIONMAKER]() as session:
        question = await faq.queued(session, signed.person, number)
        found = await faq_entries.browse(session, signed.person, text=text, page=page_no)
    return render(
        request,
        "faq_merge.html",
        status=status,
        signed=signed,
        title=f"合并提问 {number}",
        nav="faq",
        number=number,
        question=question,
        d=found,
        query=text.strip(),
        error=error,
    )


@page("faq.merge_pick")
async def pick(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _show(
        request, signed, text=request.query.get("q", ""), page_no=query_page(request)
    )


@page("faq.merge")
async def merge(request: web.Request, signed: Current) -> web.StreamResponse:
    number = _number(request)
    data = await request.post()
    raw = data.get("faq_id", "")
    faq_id = raw.strip()[:64] if isinstance(raw, str) else ""
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            merged = await faq_entries.merge(
                session,
                signed.person,
                number,
                faq_id,
                now=request.app[CLOCK].now(),
                rules=request.app[RULES],
            )
    except Conflict as err:
        return await _show(request, signed, error=err.message, status=err.status)
    if merged.alias_added:
        faq_refresh.refresh(request.app)
    alias = "1" if merged.alias_added else ("shared" if merged.entry.county_id is None else "0")
    where = f"/console/faq?n={number}&done=merged&entry={merged.entry.id}&alias={alias}"
    return web.Response(status=303, headers={"Location": where})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/faq/{number}/merge", pick)
    app.router.add_post("/console/faq/{number}/merge", merge)
