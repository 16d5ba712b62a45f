"""户 forms: add a household, edit its category and helper, retire it (注销, after a page
asking 确认注销? with a reason) and restore it (恢复).

    GET  /console/households/new                   the form (staff only)
    POST /console/households/new                   added -> its page
    POST /console/households/{id}/edit             户类别, 帮扶责任人
    GET  /console/households/{id}/retire           确认注销? (reason)
    POST /console/households/{id}/retire           retired
    POST /console/households/{id}/restore          restored

The rules, the scope check and the audit are services.households'; a form that breaks a rule
comes back with what was typed and the reason in Chinese (400).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.appkeys import CLOCK, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.households import household_id, household_page
from bot.web.console.render import form, page, render
from core.errors import Invalid
from core.inputs import int_id
from core.rules import HOUSEHOLD_CATEGORIES
from services import console_households, households
from services.console_auth import Current
from storage.households import HouseholdDTO

ReasonChange = Callable[..., Awaitable[HouseholdDTO]]
NEW_FIELDS = ("village", "code", "head_name", "category", "members", "helper", "phone")


def _see(where: str) -> web.Response:
    return web.Response(status=303, headers={"Location": where})


async def _new_form(
    request: web.Request,
    signed: Current,
    typed: dict[str, str],
    *,
    error: str = "",
    status: int = 200,
) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        villages = await console_households.addable_villages(session, signed.person)
    return render(
        request,
        "household_new.html",
        status=status,
        signed=signed,
        title=T.NEW_HOUSEHOLD,
        nav="households",
        typed=typed,
        villages=villages,
        categories=HOUSEHOLD_CATEGORIES,
        error=error,
    )


@page("household.new")
async def new_form(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _new_form(request, signed, {"members": "1"})


@page("household.create")
async def new_post(request: web.Request, signed: Current) -> web.StreamResponse:
    data = await form(request)
    typed = {k: data.get(k, "") for k in NEW_FIELDS}
    draft = households.Draft(
        village_id=int_id(typed["village"].strip()) or 0,
        code=typed["code"],
        head_name=typed["head_name"],
        category=typed["category"],
        members=typed["members"],
        helper=typed["helper"],
        phone=typed["phone"],
    )
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            new_id = await households.create(
                session, signed.person, draft, now=request.app[CLOCK].now()
            )
    except Invalid as err:
        return await _new_form(request, signed, typed, error=err.message, status=400)
    return _see(f"/console/households/{new_id}?done=created")


@page("household.edit")
async def edit(request: web.Request, signed: Current) -> web.StreamResponse:
    data = await form(request)
    typed = {"category": data.get("category", ""), "helper": data.get("helper", "")}
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            done = await households.edit(
                session,
                signed.person,
                household_id(request),
                category=typed["category"],
                helper=typed["helper"],
                now=request.app[CLOCK].now(),
            )
    except Invalid as err:
        return await household_page(request, signed, error=err.message, typed=typed, status=400)
    outcome = "edited" if done.changed else "unchanged"
    return _see(f"/console/households/{done.household.id}?done={outcome}")


def _retire_page(
    request: web.Request,
    signed: Current,
    found: HouseholdDTO,
    *,
    reason: str = "",
    error: str = "",
    status: int = 200,
) -> web.Response:
    return render(
        request,
        "household_retire.html",
        status=status,
        signed=signed,
        title="注销户",
        nav="households",
        h=found,
        message=T.RETIRE_ASK.format(name=found.head_name, code=found.code),
        reason=reason,
        error=error,
    )


@page("household.retire")
async def retire_ask(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        found = await households.retirable(session, signed.person, household_id(request))
    return _retire_page(request, signed, found)


async def _with_reason(request: web.Request, signed: Current, change: ReasonChange) -> int:
    """Run 注销 or 恢复 with the form's reason in one transaction; the household's id."""
    reason = (await form(request)).get("reason", "")
    async with request.app[SESSIONMAKER]() as session, session.begin():
        done = await change(
            session,
            signed.person,
            household_id(request),
            reason=reason,
            now=request.app[CLOCK].now(),
        )
    return done.id


@page("household.retire")
async def retire(request: web.Request, signed: Current) -> web.StreamResponse:
    try:
        done = await _with_reason(request, signed, households.retire)
    except Invalid as err:
        async with request.app[SESSIONMAKER]() as session:
            found = await households.retirable(session, signed.person, household_id(request))
        reason = (await form(request)).get("reason", "")
        return _retire_page(request, signed, found, reason=reason, error=err.message, status=400)
    return _see(f"/console/households/{done}?done=retired")


@page("household.restore")
async def restore(request: web.Request, signed: Current) -> web.StreamResponse:
    try:
        done = await _with_reason(request, signed, households.restore)
    except Invalid as err:
        return await household_page(request, signed, error=err.message, status=400)
    return _see(f"/console/households/{done}?done=restored")


def setup(app: web.Application) -> None:
    app.router.add_get("/console/households/new", new_form)
    app.router.add_post("/console/households/new", new_post)
    app.router.add_post("/console/households/{household_id}/edit", edit)
    app.router.add_get("/console/households/{household_id}/retire", retire_ask)
    app.router.add_post("/console/households/{household_id}/retire", retire)
    app.router.add_post("/console/households/{household_id}/restore", restore)
