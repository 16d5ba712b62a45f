"""走访 for the console: a month's visits of a set of villages (filtered, paged), their photos
(the gallery, paged), their locations (the map, the latest few hundred) and how many there
were each day (the chart: the villages' total per day, never per person or village).

Only active visits: a revoked one was withdrawn by its reporter. Discarded photos are never
listed. Everything is newest first; nothing here counts visits per person or village (the page
is evidence of work, not a roll call).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from core.statuses import ProblemStatus, VisitStatus
from storage.models import Household, Person, Photo, Problem, Visit
from storage.readmodels.household_file import name_or_code


@dataclass(frozen=True)
class VisitFilter:
    village_ids: list[int]
    month: str
    query: str = ""  # household name or code
    with_problems: bool = False
    with_photos: bool = False


@dataclass(frozen=True)
class VisitLogRow:
    id: int
    visited_at: datetime
    household_id: int
    code: str
    head_name: str
    village_id: int
    visitor: str
    checklist: dict[str, Any]
    note: str | None
    photos: int
    problems: int
    location_flag: str | None


@dataclass(frozen=True)
class GalleryPhoto:
    id: int
    path: str
    taken_at: datetime | None  # from the photo's EXIF (DateTimeOriginal), when it had one
    uploaded_at: datetime
    visited_at: datetime
    household_id: int
    head_name: str
    village_id: int


@dataclass(frozen=True)
class VisitPoint:
    visit_id: int
    lat: float
    lon: float
    village_id: int
    household_id: int
    head_name: str
    visited_at: datetime


@dataclass(frozen=True)
class PhotoFile:
    sha256: str
    path: str
    discarded: bool


def _photos_of_visit() -> sa.ColumnElement[bool]:
    return sa.and_(Photo.visit_id == Visit.id, Photo.discarded_at.is_(None))


def _problems_of_visit() -> sa.ColumnElement[bool]:
    return sa.and_(Problem.visit_id == Visit.id, Problem.status != ProblemStatus.VOID)


def _month_of(village_ids: list[int], month: str) -> list[sa.ColumnElement[bool]]:
    return [
        Visit.village_id.in_(village_ids),
        Visit.month == month,
        Visit.status == VisitStatus.ACTIVE,
    ]


def _where(f: VisitFilter) -> list[sa.ColumnElement[bool]]:
    where = _month_of(f.village_ids, f.month)
    found = name_or_code(f.query)
    if found is not None:
        where.append(found)
    if f.with_problems:
        where.append(sa.exists().where(_problems_of_visit()))
    if f.with_photos:
        where.append(sa.exists().where(_photos_of_visit()))
    return where


async def count_visits(session: AsyncSession, f: VisitFilter) -> int:
    if not f.village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Visit)
        .join(Household, Household.id == Visit.household_id)
        .where(*_where(f))
    )
    return int(n or 0)


async def visit_page(
    session: AsyncSession, f: VisitFilter, *, limit: int, offset: int
) -> list[VisitLogRow]:
    """The month's visits matching the filter, newest first, with photo and problem counts
    (counted for the page's visits only, after the page is cut)."""
    if not f.village_ids:
        return []
    newest = (Visit.visited_at.desc(), Visit.id.desc())
    # Cut the page on narrow rows first: sorting the month's whole rows (checklist and note
    # included) costs several times more.
    cut = (
        sa.select(Visit.id)
        .join(Household, Household.id == Visit.household_id)
        .where(*_where(f))
        .order_by(*newest)
        .limit(limit)
        .offset(offset)
    )
    rows = (
        await session.execute(
            sa.select(
                Visit.id,
                Visit.visited_at,
                Household.id,
                Household.code,
                Household.head_name,
                Visit.village_id,
                Person.name,
                Visit.checklist,
                Visit.note,
                Visit.location_flag,
            )
            .join(Household, Household.id == Visit.household_id)
            .join(Person, Person.id == Visit.visitor_id)
            .where(Visit.id.in_(cut.scalar_subquery()))
            .order_by(*newest)
        )
    ).all()
    ids = [r[0] for r in rows]
    photos = await _counts(session, Photo.visit_id, ids, Photo.discarded_at.is_(None))
    problems = await _counts(session, Problem.visit_id, ids, Problem.status != ProblemStatus.VOID)
    return [
        VisitLogRow(
            vid,
            at,
            hid,
            code,
            head,
            village,
            visitor,
            dict(checks or {}),
            note,
            photos.get(vid, 0),
            problems.get(vid, 0),
            flag,
        )  # fmt: skip
        for vid, at, hid, code, head, village, visitor, checks, note, flag in rows
    ]


async def _counts(
    session: AsyncSession,
    visit_id: InstrumentedAttribute[int | None],
    ids: list[int],
    also: sa.ColumnElement[bool],
) -> dict[int, int]:
    if not ids:
        return {}
    rows = await session.execute(
        sa.select(visit_id, sa.func.count()).where(visit_id.in_(ids), also).group_by(visit_id)
    )
    return {int(vid): int(n) for vid, n in rows}


def _gallery_where(village_ids: list[int], month: str) -> list[sa.ColumnElement[bool]]:
    return [*_month_of(village_ids, month), Photo.discarded_at.is_(None)]


async def count_photos(session: AsyncSession, village_ids: list[int], month: str) -> int:
    if not village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Photo)
        .join(Visit, Visit.id == Photo.visit_id)
        .where(*_gallery_where(village_ids, month))
    )
    return int(n or 0)


async def photo_page(
    session: AsyncSession, village_ids: list[int], month: str, *, limit: int, offset: int
) -> list[GalleryPhoto]:
    """The photos of the month's visits (not discarded), newest visit first."""
    if not village_ids:
        return []
    rows = await session.execute(
        sa.select(
            Photo.id,
            Photo.path,
            Photo.taken_at,
            Photo.created_at,
            Visit.visited_at,
            Household.id,
            Household.head_name,
            Visit.village_id,
        )
        .join(Visit, Visit.id == Photo.visit_id)
        .join(Household, Household.id == Visit.household_id)
        .where(*_gallery_where(village_ids, month))
        .order_by(Visit.visited_at.desc(), Photo.id.desc())
        .limit(limit)
        .offset(offset)
    )
    return [GalleryPhoto(*r) for r in rows]


def _located(village_ids: list[int], month: str) -> list[sa.ColumnElement[bool]]:
    return [*_month_of(village_ids, month), Visit.lat.is_not(None), Visit.lon.is_not(None)]


async def latest_points(
    session: AsyncSession, village_ids: list[int], month: str, *, limit: int
) -> tuple[int, list[VisitPoint]]:
    """How many of the month's visits carry a location, and the latest ``limit`` of them
    (newest first), in one pass: the total rides along each row as a window count."""
    if not village_ids:
        return 0, []
    rows = (
        await session.execute(
            sa.select(
                Visit.id,
                Visit.lat,
                Visit.lon,
                Visit.village_id,
                Household.id,
                Household.head_name,
                Visit.visited_at,
                sa.func.count().over(),
            )
            .join(Household, Household.id == Visit.household_id)
            .where(*_located(village_ids, month))
            .order_by(Visit.visited_at.desc(), Visit.id.desc())
            .limit(limit)
        )
    ).all()
    total = int(rows[0][-1]) if rows else 0
    return total, [
        VisitPoint(vid, float(lat), float(lon), village, hid, head, at)
        for vid, lat, lon, village, hid, head, at, _total in rows
    ]


async def photo_file(session: AsyncSession, photo_id: int) -> PhotoFile | None:
    row = (
        await session.execute(
            sa.select(Photo.sha256, Photo.path, Photo.discarded_at).where(Photo.id == photo_id)
        )
    ).first()
    return PhotoFile(row[0], row[1], row[2] is not None) if row else None


async def visits_per_day(
    session: AsyncSession, village_ids: list[int], month: str
) -> dict[date, int]:
    """The month's active visits of the villages, counted per local day (days without a visit
    are absent), in one grouped query read from ``ix_visits_village_month`` alone."""
    if not village_ids:
        return {}
    rows = await session.execute(
        sa.select(Visit.day, sa.func.count())
        .where(*_month_of(village_ids, month))
        .group_by(Visit.day)
    )
    return {_as_date(d): int(n) for d, n in rows}


def _as_date(value: date | str) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)
