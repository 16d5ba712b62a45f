"""Sign-in, sign-out and the CSRF check of the console.

    GET  /console/login?t=TOKEN   who the link is for and a button; the link is not spent yet,
                                  so a chat app's link preview cannot use it up
    POST /console/login           spends the link, opens the session (cookie), 303 to /console
                                  or to the console page the link names (``to``)
    POST /console/logout          revokes the session on the server, clears the cookie

The login form carries a random value that must equal a short-lived cookie set with the form
(a double-submit check: another site cannot post a login into a visitor's browser); every
other POST carries the session's CSRF token, compared on the server. Both come on top of the
Origin check every POST passes (bot.web.headers).
"""

from __future__ import annotations

import logging
import secrets

from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console.render import COOKIE, MAX_FIELD, notice, page, render, same, signed_in
from bot.web.console.render import form as read_form
from services import audit_refusals, console_auth
from services.console_auth import Current, LinkRefused

log = logging.getLogger(__name__)

LOGIN_COOKIE = "cunbot_console_login"


def _secure(request: web.Request) -> bool:
    return request.app[CONFIG].public_url.startswith("https://")


def _cookie(
    response: web.StreamResponse, request: web.Request, name: str, value: str, age: int
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=age,
        path="/console",
        httponly=True,
        samesite="Lax",
        secure=_secure(request),
    )


async def _refused(request: web.Request, err: LinkRefused) -> web.Response:
    await audit_refusals.record_apart(
        request.app[SESSIONMAKER],
        err.reason,
        now=request.app[CLOCK].now(),
        person_id=err.person_id,
        action="console.login",
        obj="console:login",
        msg="-",
        via="console",
    )
    return notice(request, err.message, status=403, title=T.LOGIN_REFUSED_TITLE)


async def login_form(request: web.Request) -> web.StreamResponse:
    token = request.query.get("t", "")[:MAX_FIELD]
    current = await signed_in(request)
    async with request.app[SESSIONMAKER]() as session:
        try:
            person = await console_auth.check_link(
                session,
                token,
                now=request.app[CLOCK].now(),
                signed_in=current.person if current else None,
            )
        except LinkRefused as err:
            refused: LinkRefused | None = err
        else:
            refused = None
    if refused is not None:
        return await _refused(request, refused)
    pre = secrets.token_urlsafe(24)
    response = render(
        request,
        "login.html",
        title=T.TITLE,
        message=T.LOGIN_CONFIRM.format(
            name=person.name, role=person.role_zh, region=person.region_name
        ),
        token=token,
        pre=pre,
        to=console_auth.landing(request.query.get("to", "")[:MAX_FIELD]),
    )
    _cookie(response, request, LOGIN_COOKIE, pre, 15 * 60)
    return response


async def login(request: web.Request) -> web.StreamResponse:
    form = await read_form(request)
    if not same(form.get("pre", ""), request.cookies.get(LOGIN_COOKIE, "")):
        log.warning("console login form without its cookie value refused")
        return notice(request, T.FORM_EXPIRED, status=403)
    current = await signed_in(request)
    try:
        async with request.app[SESSIONMAKER]() as session, session.begin():
            done = await console_auth.sign_in(
                session,
                form.get("t", ""),
                now=request.app[CLOCK].now(),
                signed_in=current.person if current else None,
            )
    except LinkRefused as err:
        return await _refused(request, err)
    where = console_auth.landing(form.get("to", ""))
    response = web.Response(status=303, headers={"Location": where})
    _cookie(response, request, COOKIE, done.cookie, int(console_auth.SESSION_TTL.total_seconds()))
    response.del_cookie(LOGIN_COOKIE, path="/console")
    return response


@page("logout")
async def logout(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session, session.begin():
        await console_auth.sign_out(session, signed, now=request.app[CLOCK].now())
    response = notice(request, T.SIGNED_OUT, status=200)
    response.del_cookie(COOKIE, path="/console")
    return response


def setup(app: web.Application) -> None:
    app.router.add_get("/console/login", login_form)
    app.router.add_post("/console/login", login)
    app.router.add_post("/console/logout", logout)
