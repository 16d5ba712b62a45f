"""人员: who is in the person's region, invite codes with their QR code, 换手机, 调村, 停用.

    GET  /console/people                         paged; filters: region (village), role, unbound=1
    GET  /console/people/new                     发邀请码: name, role, place
    POST /console/people/new                     -> the code's page
    GET  /console/people/invites/{code}          the code, its QR code, its expiry, 撤销
    POST /console/people/invites/{code}/revoke   the code is refused from then on
    GET  /console/people/{person}                one person: channels, codes, what may be done
    GET  /console/people/{person}/rebind         确认换手机?
    POST /console/people/{person}/rebind         channels logged out -> a fresh code's page
    POST /console/people/{person}/move           to another village (village cadres)
    GET  /console/people/{person}/deactivate     确认停用?
    POST /console/people/{person}/deactivate     services.people.deactivate (as the CLI)
    GET  /console/people/{person}/reactivate     确认重新启用?
    POST /console/people/{person}/reactivate     services.people_admin.reactivate (a fresh code)

Reads are services.console_people's, changes services.people_admin's: they check role and
scope (another region's person or code answers like an unknown one) and write the audit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, SESSIONMAKER
from bot.web.console import qr
from bot.web.console import texts as T
from bot.web.console.render import form, page, query_id, query_page, render
from core.errors import Invalid
from core.inputs import int_id
from core.roles import ROLE_ZH, ROLES, Role
from services import console_people, people_admin
from services.console_auth import Current
from storage.people import InviteDTO

NAV = "people"


def _person_id(request: web.Request) -> int:
    return int_id(request.match_info["person"]) or 0


def _role_zh(role: str) -> str:
    return ROLE_ZH[Role(role)] if role in ROLES else role


def _see(where: str) -> web.Response:
    return web.Response(status=303, headers={"Location": where})


@page("people")
async def people_list(request: web.Request, signed: Current) -> web.StreamResponse:
    role = request.query.get("role", "").strip()[:20] or None
    async with request.app[SESSIONMAKER]() as session:
        data = await console_people.people_page(
            session,
            signed.person,
            region_id=query_id(request, "region"),
            role=role,
            never_bound=request.query.get("unbound", "") == "1",
            page=query_page(request),
            now=request.app[CLOCK].now(),
        )
    return render(
        request,
        "people.html",
        signed=signed,
        title=T.PEOPLE_TITLE,
        nav=NAV,
        d=data,
        done=T.PEOPLE_DONE.get(request.query.get("done", ""), ""),
    )


async def _invite_form(
    request: web.Request,
    signed: Current,
    *,
    typed: dict[str, str] | None = None,
    error: str = "",
    status: int = 200,
) -> web.Response:
    people_admin.require_staff(signed.person, people_admin.INVITING)
    async with request.app[SESSIONMAKER]() as session:
        choices = await console_people.invite_choices(session, signed.person)
    return render(
        request,
        "person_invite.html",
        status=status,
        signed=signed,
        title=T.INVITE_TITLE,
        nav=NAV,
        c=choices,
        typed=typed or {},
        error=error,
    )


@page("people.invite")
async def invite_form(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _invite_form(request, signed)


@page("people.invite")
async def invite_post(request: web.Request, signed: Current) -> web.StreamResponse:
    typed = await form(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            made = await people_admin.invite_new(
                session,
                signed.person,
                name=typed.get("name", ""),
                role=typed.get("role", ""),
                region_id=int_id(typed.get("region", "")) or 0,
                now=request.app[CLOCK].now(),
            )
    except Invalid as err:
        return await _invite_form(request, signed, typed=typed, error=err.message, status=400)
    return _see(f"/console/people/invites/{made.code}?done=invited")


@page("people.code")
async def invite_view(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        view = await console_people.invite_view(
            session, signed.person, request.match_info["code"], now=request.app[CLOCK].now()
        )
    url = qr.bind_url(request.app[CONFIG].public_url, view.invite.code)
    return render(
        request,
        "person_code.html",
        signed=signed,
        title=f"邀请码 {view.invite.code}",
        nav=NAV,
        v=view,
        qr=await qr.svg(url) if view.state == "pending" else "",
        url=url,
        how=T.INVITE_HOW.format(code=view.invite.code),
        done=T.PEOPLE_DONE.get(request.query.get("done", ""), ""),
    )


@page("people.revoke")
async def revoke(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await people_admin.revoke_invite(
            session, signed.person, request.match_info["code"], now=request.app[CLOCK].now()
        )
    return _see("/console/people?done=revoked")


async def _person_page(
    request: web.Request, signed: Current, *, error: str = "", status: int = 200
) -> web.Response:
    async with request.app[SESSIONMAKER]() as session:
        view = await console_people.person_view(
            session, signed.person, _person_id(request), now=request.app[CLOCK].now()
        )
    return render(
        request,
        "person.html",
        status=status,
        signed=signed,
        title=view.row.name,
        nav=NAV,
        v=view,
        error=error,
        done=T.PEOPLE_DONE.get(request.query.get("done", ""), ""),
    )


@page("person")
async def person_view(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _person_page(request, signed)


_ASKS = {
    "rebind": (people_admin.REBINDING, T.REBIND_ASK),
    "deactivate": (people_admin.DEACTIVATING, T.DEACTIVATE_ASK),
    "reactivate": (people_admin.REACTIVATING, T.REACTIVATE_ASK),
}


async def _ask(request: web.Request, signed: Current, action: str) -> web.Response:
    """确认换手机? / 确认停用? / 确认重新启用?: the question, and a form that posts the same
    address."""
    what, ask = _ASKS[action]
    async with request.app[SESSIONMAKER]() as session:
        # Whom the action may touch: an active person for 换手机 and 停用, a stopped one for
        # 重新启用 (each refuses the rest as the POST would).
        if action == "reactivate":
            await people_admin.stopped_person(session, signed.person, _person_id(request))
        else:
            await people_admin.managed_person(session, signed.person, _person_id(request), what)
        view = await console_people.person_view(
            session, signed.person, _person_id(request), now=request.app[CLOCK].now()
        )
    row = view.row
    place = f"{row.town_name} · {row.region_name}" if row.town_name else row.region_name
    return render(
        request,
        "person_confirm.html",
        signed=signed,
        title=T.PEOPLE_TITLE,
        nav=NAV,
        row=row,
        action=action,
        heading=T.CONFIRM_HEADINGS[action],
        message=ask.format(name=row.name, role=_role_zh(row.role), place=place),
    )


@page("person.rebind")
async def rebind_ask(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _ask(request, signed, "rebind")


FreshCode = Callable[..., Awaitable[InviteDTO]]


async def _fresh_code(
    request: web.Request, signed: Current, use_case: FreshCode, done: str
) -> web.Response:
    """换手机 and 重新启用 both end with a new code: run the use case, show the code."""
    async with request.app[SESSIONMAKER]() as session, session.begin():
        made = await use_case(
            session, signed.person, _person_id(request), now=request.app[CLOCK].now()
        )
    return _see(f"/console/people/invites/{made.code}?done={done}")


@page("person.rebind")
async def rebind_post(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _fresh_code(request, signed, people_admin.rebind, "rebind")


@page("person.move")
async def move_post(request: web.Request, signed: Current) -> web.StreamResponse:
    typed = await form(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            moved = await people_admin.move(
                session,
                signed.person,
                _person_id(request),
                int_id(typed.get("village", "")) or 0,
                now=request.app[CLOCK].now(),
            )
    except Invalid as err:
        return await _person_page(request, signed, error=err.message, status=400)
    return _see(f"/console/people/{moved.id}?done=moved")


@page("person.deactivate")
async def deactivate_ask(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _ask(request, signed, "deactivate")


@page("person.deactivate")
async def deactivate_post(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        off = await people_admin.deactivate(
            session, signed.person, _person_id(request), now=request.app[CLOCK].now()
        )
    return _see(f"/console/people/{off.id}?done=deactivated")


@page("person.reactivate")
async def reactivate_ask(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _ask(request, signed, "reactivate")


@page("person.reactivate")
async def reactivate_post(request: web.Request, signed: Current) -> web.StreamResponse:
    return await _fresh_code(request, signed, people_admin.reactivate, "reactivated")


def setup(app: web.Application) -> None:
    # Before /console/people/{person}: "new" and "invites" are not numbers.
    app.router.add_get("/console/people", people_list)
    app.router.add_get("/console/people/new", invite_form)
    app.router.add_post("/console/people/new", invite_post)
    app.router.add_get("/console/people/invites/{code}", invite_view)
    app.router.add_post("/console/people/invites/{code}/revoke", revoke)
    app.router.add_get("/console/people/{person}", person_view)
    app.router.add_get("/console/people/{person}/rebind", rebind_ask)
    app.router.add_post("/console/people/{person}/rebind", rebind_post)
    app.router.add_post("/console/people/{person}/move", move_post)
    app.router.add_get("/console/people/{person}/deactivate", deactivate_ask)
    app.router.add_post("/console/people/{person}/deactivate", deactivate_post)
    app.router.add_get("/console/people/{person}/reactivate", reactivate_ask)
    app.router.add_post("/console/people/{person}/reactivate", reactivate_post)
