"""问答条目: browse, view, add, edit, retire and restore the FAQ entries.

    GET  /console/faq/entries                  list (q, scope=all|own|shared, state, page)
    GET  /console/faq/entries/new              the add form; POST adds
    GET  /console/faq/entries/{faq_id}         one entry with its source and reviewed date
    GET  /console/faq/entries/{faq_id}/edit    the edit form; POST saves
    GET  /console/faq/entries/{faq_id}/retire  the confirmation; POST retires
    POST /console/faq/entries/{faq_id}/restore

services.faq_entries decides who may read and write what (another county's entry is 404 like
an unknown one; shared entries are read-only). After a change is committed this process's
index is rebuilt in the background (faq_refresh); other processes notice on their own.
"""

from __future__ import annotations

from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import faq_refresh
from bot.web.console import texts as T
from bot.web.console.render import page, query_page, render
from core.errors import Invalid
from services import faq_entries as entries
from services.console_auth import Current
from storage.faq import MAX_ANSWER, MAX_QUESTION

BASE = "/console/faq/entries"
# Each field is read up to twice its limit: longer than the limit is refused with what was typed.
LIMITS = {
    "question": MAX_QUESTION,
    "answer": MAX_ANSWER,
    "source": entries.MAX_SOURCE,
    "reviewed": 20,
    "variants": (MAX_QUESTION + 1) * entries.MAX_VARIANTS,
}


def _faq_id(request: web.Request) -> str:
    return request.match_info["faq_id"][:64]


def _done(request: web.Request, faq_id: str) -> str:
    text = T.FAQ_ENTRY_DONE.get(request.query.get("done", ""), "")
    return text.format(faq_id=faq_id) if text else ""


async def _fields(request: web.Request) -> entries.EntryFields:
    data = await request.post()
    typed = {}
    for name, limit in LIMITS.items():
        raw = data.get(name, "")
        typed[name] = raw[: limit * 2] if isinstance(raw, str) else ""
    return entries.EntryFields(**typed)


def _to(faq_id: str, done: str) -> web.Response:
    return web.Response(status=303, headers={"Location": f"{BASE}/{faq_id}?done={done}"})


@page("faq.entries")
async def browse(request: web.Request, signed: Current) -> web.StreamResponse:
    whose = request.query.get("scope", "all")
    state = request.query.get("state", "active")
    text = request.query.get("q", "")
    async with request.app[SESSIONMAKER]() as session:
        data = await entries.browse(
            session, signed.person, whose=whose, state=state, text=text, page=query_page(request)
        )
    return render(
        request,
        "faq_entries.html",
        signed=signed,
        title="问答条目",
        nav="faq",
        d=data,
        whose=whose,
        state=state,
        query=text.strip(),
    )


@page("faq.entry")
async def show(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        item = await entries.view(session, signed.person, _faq_id(request))
    return render(
        request,
        "faq_entry.html",
        signed=signed,
        title=f"问答 {item.entry.id}",
        nav="faq",
        item=item,
        done=_done(request, item.entry.id),
    )


def _form(
    request: web.Request,
    signed: Current,
    *,
    action: str,
    typed: entries.EntryFields,
    faq_id: str = "",
    error: Invalid | None = None,
) -> web.Response:
    return render(
        request,
        "faq_entry_form.html",
        status=error.status if error else 200,
        signed=signed,
        title=f"修改问答 {faq_id}" if faq_id else "添加问答",
        nav="faq",
        action=action,
        faq_id=faq_id,
        typed=typed,
        error=error.message if error else "",
        field=(error.field or "") if error else "",
        limits=LIMITS,
    )


@page("faq.entry.new")
async def new_form(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        blank = await entries.blank(
            session, signed.person, now=request.app[CLOCK].now(), rules=request.app[RULES]
        )
    return _form(request, signed, action=f"{BASE}/new", typed=blank)


@page("faq.entry.add")
async def add(request: web.Request, signed: Current) -> web.StreamResponse:
    typed = await _fields(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            entry = await entries.add(
                session,
                signed.person,
                typed,
                now=request.app[CLOCK].now(),
                rules=request.app[RULES],
            )
    except Invalid as err:
        return _form(request, signed, action=f"{BASE}/new", typed=typed, error=err)
    faq_refresh.refresh(request.app)
    return _to(entry.id, "added")


@page("faq.entry.edit_form")
async def edit_form(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        entry = await entries.editable(session, signed.person, _faq_id(request))
    return _form(
        request,
        signed,
        action=f"{BASE}/{entry.id}/edit",
        typed=entries.fields_of(entry),
        faq_id=entry.id,
    )


@page("faq.entry.edit")
async def edit(request: web.Request, signed: Current) -> web.StreamResponse:
    faq_id = _faq_id(request)
    typed = await _fields(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            await entries.edit(
                session,
                signed.person,
                faq_id,
                typed,
                now=request.app[CLOCK].now(),
                rules=request.app[RULES],
            )
    except Invalid as err:
        action = f"{BASE}/{faq_id}/edit"
        return _form(request, signed, action=action, typed=typed, faq_id=faq_id, error=err)
    faq_refresh.refresh(request.app)
    return _to(faq_id, "edited")


@page("faq.entry.retire_confirm")
async def retire_confirm(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        entry = await entries.retirable(session, signed.person, _faq_id(request))
    return render(
        request,
        "faq_entry_retire.html",
        signed=signed,
        title=f"停用问答 {entry.id}",
        nav="faq",
        entry=entry,
        message=T.FAQ_RETIRE_CONFIRM.format(faq_id=entry.id),
    )


@page("faq.entry.retire")
async def retire(request: web.Request, signed: Current) -> web.StreamResponse:
    faq_id = _faq_id(request)
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await entries.retire(session, signed.person, faq_id, now=request.app[CLOCK].now())
    faq_refresh.refresh(request.app)
    return _to(faq_id, "retired")


@page("faq.entry.restore")
async def restore(request: web.Request, signed: Current) -> web.StreamResponse:
    faq_id = _faq_id(request)
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await entries.restore(session, signed.person, faq_id, now=request.app[CLOCK].now())
    faq_refresh.refresh(request.app)
    return _to(faq_id, "restored")


def setup(app: web.Application) -> None:
    app.router.add_get(BASE, browse)
    app.router.add_get(f"{BASE}/new", new_form)
    app.router.add_post(f"{BASE}/new", add)
    app.router.add_get(BASE + "/{faq_id}", show)
    app.router.add_get(BASE + "/{faq_id}/edit", edit_form)
    app.router.add_post(BASE + "/{faq_id}/edit", edit)
    app.router.add_get(BASE + "/{faq_id}/retire", retire_confirm)
    app.router.add_post(BASE + "/{faq_id}/retire", retire)
    app.router.add_post(BASE + "/{faq_id}/restore", restore)
