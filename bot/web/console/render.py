"""The console's shared page machinery: the Jinja2 environment, rendering inside the common
layout, and :func:`page`, the wrapper every console route goes through.

``page`` resolves the signed-in person from the session cookie (no session: the sign-in hint,
401), hands the route a :class:`Signed` (person, CSRF token, a database session factory), and
turns a use case's refusal into a Chinese error page with its status (403 outside the scope,
404 for an unknown task, 400 for a malformed filter), audited through services.audit_refusals
after the rollback. No route decides scope itself: they pass ids to services.
"""

from __future__ import annotations

import hmac
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from functools import wraps
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from bot.appkeys import CLOCK, RULES, SESSIONMAKER
from bot.web.console import texts as T
from bot.web.console import uploads
from core.checklist import CHECK_ZH, CHECKS
from core.checklist import STATUS_ZH as CHECK_STATUS_ZH
from core.errors import DomainError
from core.inputs import int_id
from core.privacy import mask_pii
from core.roles import ROLE_ZH
from services import audit_refusals, console_auth, console_nav
from services.console_auth import Current

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).resolve().parent.parent / "templates" / "console"
ENV = web.AppKey("console_env", jinja2.Environment)
COOKIE = "cunbot_console"
SAFE_METHODS = frozenset({"GET", "HEAD"})
MAX_FIELD = 200
NAV_KEYS = tuple(key for key, _label in T.NAV)

Route = Callable[[web.Request, Current], Awaitable[web.StreamResponse]]


def make_env(app: web.Application) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        autoescape=jinja2.select_autoescape(["html", "svg"]),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    tz = app[RULES].timezone

    def local(at: datetime | None, fmt: str = "%m-%d %H:%M") -> str:
        return at.astimezone(tz).strftime(fmt) if at else "—"

    env.filters["local"] = local
    env.filters["pct"] = lambda x: f"{x:.0%}"
    env.filters["role"] = lambda role: ROLE_ZH.get(role, role)
    env.filters["mask"] = lambda text: mask_pii(str(text or ""))
    env.globals["checks"] = [(k, CHECK_ZH[k]) for k in CHECKS]
    env.globals["check_zh"] = CHECK_STATUS_ZH
    env.globals["T"] = T
    return env


def render(
    request: web.Request,
    template: str,
    *,
    status: int = 200,
    signed: Current | None = None,
    **context: Any,
) -> web.Response:
    html = (
        request.app[ENV]
        .get_template(template)
        .render(
            me=signed.person if signed else None,
            shown=console_nav.visible(signed.person, NAV_KEYS) if signed else frozenset(),
            csrf=signed.session.csrf_token if signed else "",
            request_path=request.path,
            failed=status >= 400,
            **context,
        )
    )
    response = web.Response(text=html, status=status, content_type="text/html", charset="utf-8")
    response.headers["Cache-Control"] = "no-store"
    return response


def notice(
    request: web.Request, message: str, *, status: int, title: str = T.TITLE
) -> web.Response:
    return render(request, "notice.html", status=status, title=title, message=message)


async def signed_in(request: web.Request) -> Current | None:
    cookie = request.cookies.get(COOKIE, "")
    if not cookie:
        return None
    async with request.app[SESSIONMAKER]() as session:
        return await console_auth.current(session, cookie, now=request.app[CLOCK].now())


def query_id(request: web.Request, name: str) -> int | None:
    """An optional id from the query string; a malformed one is 0, which no scope contains
    (so it is answered like an unknown id)."""
    raw = request.query.get(name, "").strip()
    return None if not raw else (int_id(raw) or 0)


def query_page(request: web.Request) -> int:
    raw = request.query.get("page", "1").strip() or "1"
    return int_id(raw) or 0


def page(action: str) -> Callable[[Route], Callable[[web.Request], Awaitable[web.StreamResponse]]]:
    """Wrap a console route: signed-in person in, refusals out as audited error pages."""

    def wrap(route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        @wraps(route)
        async def handler(request: web.Request) -> web.StreamResponse:
            signed = await signed_in(request)
            if signed is None:
                return notice(request, T.SIGN_IN_NEEDED, status=401)
            if request.method not in SAFE_METHODS and not await csrf_ok(request, signed):
                await _audit(request, signed, "csrf", action)
                return render(
                    request,
                    "notice.html",
                    status=403,
                    signed=signed,
                    title=T.TITLE,
                    message=T.FORM_EXPIRED,
                )
            try:
                return await route(request, signed)
            except DomainError as err:
                await _audit(request, signed, audit_refusals.reason_of(err), action)
                return render(
                    request,
                    "notice.html",
                    status=err.status,
                    signed=signed,
                    title=T.TITLE,
                    message=err.message,
                )

        return handler

    return wrap


def same(a: str, b: str) -> bool:
    """Constant-time equality of two non-empty strings."""
    return bool(a) and bool(b) and hmac.compare_digest(a.encode(), b.encode())


async def csrf_ok(request: web.Request, signed: Current) -> bool:
    """The form's ``csrf`` field is the session's token (checked on every console POST).
    A form with files is read here, once, by the streaming reader (bot.web.console.uploads)."""
    if uploads.is_multipart(request):
        await uploads.read(request, signed.session.csrf_token)
    data = await form(request)
    return same(data.get("csrf", ""), signed.session.csrf_token)


async def form(request: web.Request) -> dict[str, str]:
    """A posted form's text fields (each cut to MAX_FIELD); a body that is not a form reads
    as an empty one, so it fails the checks instead of raising."""
    if uploads.is_multipart(request):
        fields = uploads.posted(request).fields
        return {k: v[:MAX_FIELD] for k, v in fields.items()}
    try:
        data = await request.post()
    except (ValueError, UnicodeDecodeError, web.HTTPException):
        return {}
    return {k: v[:MAX_FIELD] for k, v in data.items() if isinstance(v, str)}


async def _audit(request: web.Request, signed: Current, reason: str | None, action: str) -> None:
    await audit_refusals.record_apart(
        request.app[SESSIONMAKER],
        reason,
        now=request.app[CLOCK].now(),
        person_id=signed.person.id,
        action=f"console.{action}",
        obj=request.path_qs,
        msg="-",
        via="console",
    )
