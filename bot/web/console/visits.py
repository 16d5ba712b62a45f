"""走访, read-only: the month's visits (filters: region, household, with problems, with photos;
paged), the photos of those visits (thumbnails, full size on click, EXIF and upload times;
paged) and the map of where they were made.

    GET /console/visits                         the visit list, each row linking to its 户
    GET /console/visits/photos                  the photo gallery
    GET /console/visits/photos/{photo_id}/thumb a photo's JPEG thumbnail (made once, kept by
                                                SHA-256 in the media directory)
    GET /console/visits/map                     the map page (drawn by static/visits_map.js)
    GET /console/visits/map.json                what the map draws: points, village centres,
                                                far flags (computed in services.visit_map)

Scope and every figure are services.console_visits'; the full-size photo is the console's
media route (bot.web.console.review), checked on every request. With CUNBOT_MAP_TILE_URL set
the map page's CSP also lets images come from the tile server's origin.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from yarl import URL

from bot.appkeys import CLOCK, CONFIG, MEDIA, RULES, SESSIONMAKER
from bot.web import stored
from bot.web.console import texts as T
from bot.web.console.chart import day_chart
from bot.web.console.render import page, query_id, query_page, render
from bot.web.headers import CSP
from core.errors import NotFound
from core.inputs import int_id
from services import console, console_households, console_visits, media
from services.console_auth import Current
from services.media_store import MediaUnavailable
from storage.people import PersonDTO
from storage.session import AsyncSession


def _flag(request: web.Request, name: str) -> bool:
    return request.query.get(name, "") == "1"


def _reads(request: web.Request) -> dict[str, Any]:
    """The region and month every tab reads (checked by the service)."""
    return {
        "region_id": query_id(request, "region"),
        "month": request.query.get("month", "")[:20] or None,
        "now": request.app[CLOCK].now(),
        "tz": request.app[RULES].timezone,
    }


async def _choices(session: AsyncSession, me: PersonDTO) -> list[tuple[int, str]]:
    """The region filter's choices: each township (county staff only), then its villages."""
    towns = await console.township_choices(session, me)
    villages = await console_households.village_choices(session, me)
    rows = [(name, 0, tid, f"{name}（全乡）") for tid, name in towns]
    rows += [(town, 1, vid, f"{town} · {village}") for vid, town, village in villages]
    return [(rid, label) for _t, _k, rid, label in sorted(rows)]


def _show(request: web.Request, signed: Current, template: str, **context: Any) -> web.Response:
    return render(request, template, signed=signed, title="走访", nav="visits", **context)


@page("visits")
async def visit_list(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_visits.visit_list(
            session,
            signed.person,
            query=request.query.get("q", ""),
            with_problems=_flag(request, "problems"),
            with_photos=_flag(request, "photos"),
            page=query_page(request),
            **_reads(request),
        )
        choices = await _choices(session, signed.person)
    chart = day_chart(data.month, data.per_day, data.today)
    return _show(request, signed, "visits.html", d=data, choices=choices, tab="", chart=chart)


@page("visits.photos")
async def photos(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_visits.gallery(
            session, signed.person, page=query_page(request), **_reads(request)
        )
        choices = await _choices(session, signed.person)
    return _show(request, signed, "visit_photos.html", d=data, choices=choices, tab="/photos")


@page("visits.thumb")
async def thumb(request: web.Request, signed: Current) -> web.StreamResponse:
    photo_id = int_id(request.match_info["photo_id"]) or 0
    async with request.app[SESSIONMAKER]() as session:
        found = await console_visits.thumbnail_of(session, signed.person, photo_id)
    store = request.app[MEDIA]
    try:
        key = await media.thumbnail(store, found.sha256, found.path)
    except MediaUnavailable:
        raise web.HTTPServiceUnavailable(headers={"Retry-After": "5"}) from None
    response = None
    if key is not None:
        response = await stored.answer(
            request,
            store,
            key,
            headers={"Cache-Control": "private, max-age=3600"},
            content_type="image/jpeg",
        )
    if response is None:
        raise NotFound(T.NOT_FOUND)
    return response


def _tile_csp(tile_url: str) -> str | None:
    """The page's CSP with the tile server's origin added to img-src (None: no tile server)."""
    if not tile_url:
        return None
    origin = URL(tile_url.replace("{z}", "0").replace("{x}", "0").replace("{y}", "0")).origin()
    return CSP.replace("img-src 'self'", f"img-src 'self' {origin}", 1)


@page("visits.map")
async def visit_map(request: web.Request, signed: Current) -> web.StreamResponse:
    async with request.app[SESSIONMAKER]() as session:
        data = await console_visits.visit_map_data(session, signed.person, **_reads(request))
        choices = await _choices(session, signed.person)
    response = _show(request, signed, "visit_map.html", d=data, choices=choices, tab="/map")
    csp = _tile_csp(request.app[CONFIG].core.map_tile_url)
    if csp:
        response.headers["Content-Security-Policy"] = csp
    return response


@page("visits.map_data")
async def map_data(request: web.Request, signed: Current) -> web.StreamResponse:
    reads = _reads(request)
    async with request.app[SESSIONMAKER]() as session:
        data = await console_visits.visit_map_data(session, signed.person, **reads)
    body = data.as_json(reads["tz"])
    body["tile_url"] = request.app[CONFIG].core.map_tile_url
    return web.json_response(body, headers={"Cache-Control": "no-store"})


def setup(app: web.Application) -> None:
    app.router.add_get("/console/visits", visit_list)
    app.router.add_get("/console/visits/photos", photos)
    app.router.add_get("/console/visits/photos/{photo_id}/thumb", thumb)
    app.router.add_get("/console/visits/map", visit_map)
    app.router.add_get("/console/visits/map.json", map_data)
