"""Signing in to the county console (县乡工作台) without a password.

A bound person asks for a link in chat (``后台``) or an administrator prints one
(``cunbot login-link``): :func:`issue_link` stores a hash of a random token that works once,
within ten minutes, for that person. Opening it (:func:`sign_in`) spends the token and starts a
twelve-hour session whose cookie token is again stored only as a hash, with a per-session CSRF
token for the console's forms. :func:`current` resolves a cookie on every request (a
deactivated person is out at once); :func:`sign_out` revokes the session on the server.
Every step is audited; a refused link raises :class:`LinkRefused` with the reason, which the
web entry point records with ``services.audit_refusals`` after its rollback.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote

from core.errors import Refused
from storage import audit, console_auth, people
from storage.console_auth import SessionDTO
from storage.people import PersonDTO
from storage.session import AsyncSession

log = logging.getLogger(__name__)

LINK_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
ROUTE = "/console/login"
HOME = "/console"
MAX_LANDING = 200
_LANDING = re.compile(r"/console(/[A-Za-z0-9_/-]*)?(\?[A-Za-z0-9_=&-]*)?")

LINK_UNKNOWN = "这个登录链接无效。请在聊天中发送「后台」获取新的链接。"
LINK_USED = "这个登录链接已经用过了（每个链接只能用一次）。请在聊天中发送「后台」获取新的链接。"
LINK_EXPIRED = "这个登录链接已过期（10 分钟内有效）。请在聊天中发送「后台」获取新的链接。"
LINK_OTHER = (
    "这个浏览器已经以{name}的身份登录，这个链接是发给别人的。"
    "请先点「退出」，再由链接的主人自己打开。"
)
INACTIVE = "您的账号已停用，不能登录工作台。请联系县里的管理员。"


class LinkRefused(Refused):
    """A sign-in link that does not open the console; ``reason`` goes to the audit."""

    def __init__(self, message: str, reason: str, person_id: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        self.person_id = person_id


@dataclass(frozen=True)
class LoginLink:
    url: str
    expires_at: datetime


@dataclass(frozen=True)
class SignedIn:
    cookie: str  # the session's cookie token (the browser keeps it, the server its hash)
    session: SessionDTO
    person: PersonDTO


@dataclass(frozen=True)
class Current:
    session: SessionDTO
    person: PersonDTO


def landing(to: str | None) -> str:
    """Where a sign-in lands: ``to`` if it is a console path of plain characters (so a link
    cannot send the browser to another site), else the overview."""
    if to and len(to) <= MAX_LANDING and _LANDING.fullmatch(to):
        return to
    return HOME


async def issue_link(
    session: AsyncSession,
    person: PersonDTO,
    *,
    now: datetime,
    public_url: str,
    via: str,
    to: str | None = None,
) -> LoginLink:
    """A one-time sign-in link for ``person`` (``via``: ``chat`` or ``cli``), audited; after
    signing in the browser lands on ``to`` (a console path, see :func:`landing`)."""
    if not person.active:
        raise Refused(INACTIVE)
    expires = now + LINK_TTL
    token = await console_auth.create_link(session, person.id, now, expires)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="console.link",
        obj=f"person:{person.id}",
        detail={"via": via, "expires_at": expires.isoformat()},
    )
    log.info("console link issued person=%s via=%s", person.id, via)
    target = landing(to)
    # ``to`` before ``t``: the token stays the query's tail.
    query = f"to={quote(target, safe='')}&t={token}" if target != HOME else f"t={token}"
    return LoginLink(f"{public_url.rstrip('/')}{ROUTE}?{query}", expires)


async def check_link(
    session: AsyncSession, token: str, *, now: datetime, signed_in: PersonDTO | None
) -> PersonDTO:
    """The person a link would sign in, without spending it; :class:`LinkRefused` otherwise.
    A browser already signed in as someone else is not handed another person's session."""
    link = await console_auth.find_link(session, token)
    if link is None:
        raise LinkRefused(LINK_UNKNOWN, "link_unknown")
    if link.used_at is not None:
        raise LinkRefused(LINK_USED, "link_used", link.person_id)
    if link.expires_at <= now:
        raise LinkRefused(LINK_EXPIRED, "link_expired", link.person_id)
    if signed_in is not None and signed_in.id != link.person_id:
        raise LinkRefused(LINK_OTHER.format(name=signed_in.name), "link_other_person", signed_in.id)
    person = await people.get(session, link.person_id)
    if person is None or not person.active:
        raise LinkRefused(INACTIVE, "inactive", link.person_id)
    return person


async def sign_in(
    session: AsyncSession, token: str, *, now: datetime, signed_in: PersonDTO | None
) -> SignedIn:
    """Spend the link and open a session (see :func:`check_link` for the refusals)."""
    person = await check_link(session, token, now=now, signed_in=signed_in)
    if not await console_auth.spend_link(session, token, now):
        # Spent by a concurrent request between the check and the update.
        raise LinkRefused(LINK_USED, "link_used", person.id)
    cookie, opened = await console_auth.create_session(session, person.id, now, now + SESSION_TTL)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="console.login",
        obj=f"person:{person.id}",
        detail={"session": opened.id},
    )
    log.info("console sign-in person=%s session=%s", person.id, opened.id)
    return SignedIn(cookie, opened, person)


async def current(session: AsyncSession, cookie: str, *, now: datetime) -> Current | None:
    """The live session and active person a cookie names, or ``None``."""
    found = await console_auth.live_session(session, cookie, now)
    if found is None:
        return None
    person = await people.get(session, found.person_id)
    if person is None or not person.active:
        return None
    return Current(found, person)


async def sign_out(session: AsyncSession, signed: Current, *, now: datetime) -> None:
    await console_auth.revoke_session(session, signed.session.id, now)
    await audit.log(
        session,
        at=now,
        person_id=signed.person.id,
        action="console.logout",
        obj=f"person:{signed.person.id}",
        detail={"session": signed.session.id},
    )
    log.info("console sign-out person=%s session=%s", signed.person.id, signed.session.id)
