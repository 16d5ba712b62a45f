"""Ledger downloads for county and township staff: a link sent in chat, signed and expiring.

The token is ``base64url(json payload).hex(HMAC-SHA256)`` with config.secret_key(); it names the
person, the region and the month, so a forwarded link gives nothing beyond what its owner
may see, and only until it expires. The file is written off the event loop (bot.reports).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import logging
import shutil
import tempfile
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

from aiohttp import web

from bot.appkeys import CLOCK, CONFIG, RULES, SERVICES, SESSIONMAKER
from bot.reports import PhotoLink, export_visits
from bot.web import signed
from core.errors import DomainError
from services import audit_refusals, reports
from storage import audit, people

log = logging.getLogger(__name__)

LINK_TTL = timedelta(hours=24)
# Read once at start-up: secret_key() may touch var/secret_key on disk.
SIGNING_KEY = web.AppKey("report_signing_key", bytes)
ROUTE = "/reports/visits.xlsx"


def sign(key: bytes, payload: dict[str, Any]) -> str:
    body = base64.urlsafe_b64encode(json.dumps(payload, separators=(",", ":")).encode()).decode()
    mac = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    return f"{body}.{mac}"


def verify(key: bytes, token: str, now: datetime) -> dict[str, Any] | None:
    """The payload of a valid, unexpired token; ``None`` otherwise."""
    body, _, mac = token.partition(".")
    if not body or len(token) > 1000:
        return None
    expected = hmac.new(key, body.encode(), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(mac, expected):
        return None
    try:
        payload = json.loads(base64.urlsafe_b64decode(body.encode()))
    except ValueError:
        return None
    if not isinstance(payload, dict) or payload.get("exp", 0) < now.timestamp():
        return None
    return payload


def link_maker(app: web.Application):
    """The ``Services.export_link`` handlers call: (person, region, month) -> (url, hours)."""

    def make(*, person_id: int, region_id: int, month: str) -> tuple[str, int]:
        config = app[CONFIG]
        exp = app[CLOCK].now() + LINK_TTL
        token = sign(
            app[SIGNING_KEY],
            {"p": person_id, "r": region_id, "m": month, "exp": int(exp.timestamp())},
        )
        return f"{config.public_url}{ROUTE}?t={token}", int(LINK_TTL.total_seconds() // 3600)

    return make


async def download(request: web.Request) -> web.StreamResponse:
    app = request.app
    now = app[CLOCK].now()
    payload = verify(app[SIGNING_KEY], request.query.get("t", ""), now)
    if payload is None:
        await _audit_refusal(request, None, "-", "bad_link")
        raise web.HTTPForbidden(text="下载链接无效或已过期，请在聊天中重新发送「导出」。")
    async with app[SESSIONMAKER]() as session:
        person = await people.get(session, int(payload["p"]))
        refused: DomainError | None = None
        try:
            region = await reports.ledger_region(session, person, int(payload["r"]))
        except DomainError as refusal:
            refused = refusal
    if refused is not None:
        obj = f"region:{payload['r']}"
        await _audit_refusal(request, person.id if person else None, obj, "forbidden")
        raise web.HTTPForbidden(text=refused.message)
    async with app[SESSIONMAKER]() as session:
        assert person is not None
        tmpdir = Path(await asyncio.to_thread(tempfile.mkdtemp, prefix="cunbot-export-"))
        path = tmpdir / "ledger.xlsx"
        result = await export_visits(
            session,
            region.id,
            payload["m"],
            app[RULES],
            path,
            now=now,
            prepared_by=person.name,
            photo_link=_photo_links(app, person.id, now),
        )
    async with app[SESSIONMAKER]() as session, session.begin():
        await audit.log(
            session,
            at=now,
            person_id=person.id,
            action="report.download",
            obj=f"region:{region.id}",
            detail={"month": payload["m"], "visits": result.visits},
        )
    log.info("ledger download person=%s region=%s month=%s", person.id, region.id, payload["m"])
    name = f"{region.name}_{payload['m']}_走访台账.xlsx"
    try:
        # A county's month is a few MB; reading it back lets the temp files go at once.
        body = await asyncio.to_thread(path.read_bytes)
    finally:
        await asyncio.to_thread(shutil.rmtree, tmpdir, True)
    return web.Response(
        body=body,
        headers={
            "Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}",
        },
    )


def _photo_links(app: web.Application, person_id: int, now: datetime) -> PhotoLink:
    """Signed links for the person downloading, valid ``CUNBOT_PHOTO_LINK_HOURS``."""
    config = app[CONFIG]
    ttl = timedelta(hours=config.core.photo_link_hours)
    return signed.photo_signer(app[signed.MEDIA_KEY], config.public_url, person_id, now, ttl)


async def _audit_refusal(
    request: web.Request, person_id: int | None, obj: str, reason: str
) -> None:
    await audit_refusals.record_apart(
        request.app[SESSIONMAKER],
        reason,
        now=request.app[CLOCK].now(),
        person_id=person_id,
        action="report.download",
        obj=obj,
        msg="-",
        via="web",
    )


def setup(app: web.Application) -> None:
    app[SIGNING_KEY] = app[CONFIG].secret_key()
    app[signed.MEDIA_KEY] = signed.media_key(app[SIGNING_KEY])
    app.router.add_get(ROUTE, download)
    app[SERVICES].export_link = link_maker(app)
