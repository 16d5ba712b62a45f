"""The console's visit pages (走访), read-only: a month's visits of the person's region (or a
township or village of it) with filters, the photos of those visits, and the map of where they
were made.

Every read goes through :func:`services.console.scoped_region` (a region id from the URL is
untrusted: outside the scope it is refused, 403). A photo's thumbnail is served after the
console's media check (services.console_task_forms.may_view_photo, the chat's /media rule);
a photo outside the scope, discarded or unknown answers NotFound alike. Phone and ID numbers
in free text leave masked. Nothing here ranks villages or people by activity: lists are
newest first and the map shows places, not scores.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from core.errors import NotFound
from core.privacy import mask_pii
from services import console_task_forms, visit_map
from services.console import Paged, Scope, check_page, parse_month, scoped_region
from storage.people import PersonDTO
from storage.readmodels import visit_log as log
from storage.readmodels.household_file import MAX_QUERY
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession

PAGE_SIZE = 20
PHOTOS_PAGE = 24
MAP_POINTS = 500  # the month's latest located visits sent to the map
NO_SUCH_PHOTO = "找不到这张照片。"


@dataclass(frozen=True)
class VisitList:
    scope: Scope
    month: str
    query: str
    with_problems: bool
    with_photos: bool
    rows: list[log.VisitLogRow]
    places: dict[int, VillagePlace]
    paged: Paged
    per_day: dict[date, int]  # the month's active visits of the region per local day
    today: date  # the local date, to mark it on the chart


@dataclass(frozen=True)
class Gallery:
    scope: Scope
    month: str
    photos: list[log.GalleryPhoto]
    places: dict[int, VillagePlace]
    paged: Paged


@dataclass(frozen=True)
class MapPoint:
    point: log.VisitPoint
    km: float
    far: bool


@dataclass(frozen=True)
class VisitMap:
    scope: Scope
    month: str
    limit: int
    total: int  # located visits of the month in the region (only the latest ``limit`` are sent)
    points: list[MapPoint]
    centres: list[visit_map.Centre]
    places: dict[int, VillagePlace]
    far_km: float = visit_map.FAR_KM

    @property
    def far(self) -> list[MapPoint]:
        """The points far from their village's centre, furthest first."""
        return sorted((p for p in self.points if p.far), key=lambda p: -p.km)

    def as_json(self, tz: ZoneInfo) -> dict[str, Any]:
        """What the browser draws (coordinates to 6 decimals, about 0.1 m)."""

        def name(vid: int) -> tuple[str, str]:
            p = self.places.get(vid)
            return (p.village_name, p.town_name) if p else ("", "")

        return {
            "month": self.month,
            "limit": self.limit,
            "total": self.total,
            "far_km": self.far_km,
            "villages": [
                {
                    "id": c.village_id,
                    "name": name(c.village_id)[0],
                    "town": name(c.village_id)[1],
                    "lat": round(c.lat, 6),
                    "lon": round(c.lon, 6),
                    "visits": c.visits,
                }
                for c in self.centres
            ],
            "points": [
                {
                    "visit": p.point.visit_id,
                    "lat": round(p.point.lat, 6),
                    "lon": round(p.point.lon, 6),
                    "village": p.point.village_id,
                    "household": p.point.household_id,
                    "name": p.point.head_name,
                    "at": p.point.visited_at.astimezone(tz).strftime("%m-%d %H:%M"),
                    "km": round(p.km, 2),
                    "far": p.far,
                }
                for p in self.points
            ],
        }


async def visit_list(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    month: str | None,
    query: str,
    with_problems: bool,
    with_photos: bool,
    page: int,
    now: datetime,
    tz: ZoneInfo,
) -> VisitList:
    where = await scoped_region(session, me, region_id)
    f = log.VisitFilter(
        where.village_ids,
        parse_month(month, now, tz),
        query.strip()[:MAX_QUERY],
        with_problems,
        with_photos,
    )
    paged = Paged(check_page(page), await log.count_visits(session, f), PAGE_SIZE)
    rows = await log.visit_page(session, f, limit=paged.size, offset=paged.offset)
    rows = [replace(r, note=mask_pii(r.note) if r.note else None) for r in rows]
    places = await village_places(session, sorted({r.village_id for r in rows}))
    # The chart counts every active visit of the month in the region (not only the filtered
    # ones): how much visiting happened each day, never who or which village did it.
    per_day = await log.visits_per_day(session, where.village_ids, f.month)
    return VisitList(
        where,
        f.month,
        f.query,
        with_problems,
        with_photos,
        rows,
        places,
        paged,
        per_day,
        now.astimezone(tz).date(),
    )


async def gallery(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    month: str | None,
    page: int,
    now: datetime,
    tz: ZoneInfo,
) -> Gallery:
    where = await scoped_region(session, me, region_id)
    the_month = parse_month(month, now, tz)
    total = await log.count_photos(session, where.village_ids, the_month)
    paged = Paged(check_page(page), total, PHOTOS_PAGE)
    photos = await log.photo_page(
        session, where.village_ids, the_month, limit=paged.size, offset=paged.offset
    )
    places = await village_places(session, sorted({p.village_id for p in photos}))
    return Gallery(where, the_month, photos, places, paged)


async def visit_map_data(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    month: str | None,
    now: datetime,
    tz: ZoneInfo,
    limit: int = MAP_POINTS,
) -> VisitMap:
    """The month's latest ``limit`` located visits of the region, each village at the median of
    its visits among them, and the points far from it."""
    where = await scoped_region(session, me, region_id)
    the_month = parse_month(month, now, tz)
    total, found = await log.latest_points(session, where.village_ids, the_month, limit=limit)
    spots = [visit_map.Spot(p.visit_id, p.village_id, p.lat, p.lon) for p in found]
    centres = visit_map.village_centres(spots)
    placed = visit_map.place(spots, centres)
    points = [MapPoint(p, x.km, x.far) for p, x in zip(found, placed, strict=True)]
    places = await village_places(session, sorted(centres))
    return VisitMap(where, the_month, limit, total, points, list(centres.values()), places)


async def thumbnail_of(session: AsyncSession, me: PersonDTO, photo_id: int) -> log.PhotoFile:
    """A listed photo's file, after the console's media check; NotFound for an unknown,
    discarded or foreign photo alike."""
    found = await log.photo_file(session, photo_id) if photo_id else None
    if found is None or found.discarded:
        raise NotFound(NO_SUCH_PHOTO)
    if not await console_task_forms.may_view_photo(session, me, found.path):
        raise NotFound(NO_SUCH_PHOTO)
    return found
