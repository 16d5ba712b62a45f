"""Visits (入户走访): record, amend, revoke, where they were made, and monthly progress.

Store functions never commit; they take the caller's session and return DTOs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.households import HouseholdDTO, household_dto
from storage.models import Household, Visit

# Photos sent this long before or after a visit report belong to it.
# A second report of the same household within this time may be the same visit.
DUPLICATE_WINDOW = timedelta(minutes=10)
# 撤销 is allowed this long after the visit was recorded.
REVOKE_WINDOW = timedelta(hours=24)
MAX_NOTE = 500
# Anything outside this box is not in China at all (lat 18-54, lon 73-135).
CHINA_BOX = (18.0, 54.0, 73.0, 135.0)
# A location further than this (degrees, about 55 km) outside the box spanned by the county's
# earlier visit locations is flagged; the box needs this many located visits to be trusted.
COUNTY_MARGIN_DEG = 0.5
COUNTY_MIN_POINTS = 5


@dataclass(frozen=True)
class VisitDTO:
    id: int
    household_id: int
    village_id: int
    visitor_id: int
    visited_at: datetime
    month: str
    checklist: dict[str, Any]
    note: str | None
    lat: float | None
    lon: float | None
    location_flag: str | None
    status: str
    created_at: datetime


def month_of(at: datetime, tz: ZoneInfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


_hh = household_dto


def _visit(v: Visit) -> VisitDTO:
    return VisitDTO(
        v.id,
        v.household_id,
        v.village_id,
        v.visitor_id,
        v.visited_at,
        v.month,
        dict(v.checklist or {}),
        v.note,
        v.lat,
        v.lon,
        v.location_flag,
        v.status,
        v.created_at,
    )


# --- visits ------------------------------------------------------------------------------


async def get_visit(session: AsyncSession, visit_id: int) -> VisitDTO | None:
    v = await session.get(Visit, visit_id)
    return _visit(v) if v else None


async def record_visit(
    session: AsyncSession,
    *,
    household: HouseholdDTO,
    visitor_id: int,
    at: datetime,
    tz: ZoneInfo,
    checklist: dict[str, Any],
    note: str | None,
    lat: float | None = None,
    lon: float | None = None,
    location_flag: str | None = None,
    source_message_id: str | None = None,
) -> VisitDTO:
    if note and len(note) > MAX_NOTE:
        raise ValueError("note too long")
    v = Visit(
        household_id=household.id,
        village_id=household.village_id,
        visitor_id=visitor_id,
        visited_at=at,
        month=month_of(at, tz),
        day=at.astimezone(tz).date(),
        checklist=checklist,
        note=note or None,
        lat=lat,
        lon=lon,
        location_flag=location_flag,
        status="active",
        source_message_id=source_message_id,
        created_at=at,
        updated_at=at,
    )
    session.add(v)
    await session.flush()
    return _visit(v)


async def recent_visit_of(
    session: AsyncSession, household_id: int, now: datetime, window: timedelta = DUPLICATE_WINDOW
) -> VisitDTO | None:
    v = await session.scalar(
        sa.select(Visit)
        .where(
            Visit.household_id == household_id,
            Visit.status == "active",
            Visit.visited_at >= now - window,
        )
        .order_by(Visit.visited_at.desc())
        .limit(1)
    )
    return _visit(v) if v else None


async def last_visit_by(
    session: AsyncSession, visitor_id: int, since: datetime | None = None
) -> VisitDTO | None:
    query = sa.select(Visit).where(Visit.visitor_id == visitor_id, Visit.status == "active")
    if since is not None:
        query = query.where(Visit.created_at >= since)
    v = await session.scalar(query.order_by(Visit.created_at.desc(), Visit.id.desc()).limit(1))
    return _visit(v) if v else None


async def revoke(session: AsyncSession, visit_id: int, now: datetime) -> VisitDTO:
    """Mark a visit revoked (kept, never deleted); its photos stay with it for the record."""
    v = await session.get_one(Visit, visit_id)
    v.status = "revoked"
    v.updated_at = now
    await session.flush()
    return _visit(v)


async def amend(
    session: AsyncSession, visit_id: int, now: datetime, **changes: Any
) -> tuple[VisitDTO, dict[str, Any]]:
    """Apply changes (checklist, note, lat, lon, location_flag); return the old values."""
    allowed = {"checklist", "note", "lat", "lon", "location_flag"}
    if set(changes) - allowed:
        raise ValueError(f"cannot amend {set(changes) - allowed}")
    if changes.get("note") and len(changes["note"]) > MAX_NOTE:
        raise ValueError("note too long")
    v = await session.get_one(Visit, visit_id)
    before = {k: getattr(v, k) for k in changes}
    for key, value in changes.items():
        setattr(v, key, value)
    v.updated_at = now
    await session.flush()
    return _visit(v), before


async def location_flag(
    session: AsyncSession, county_village_ids: list[int], lat: float, lon: float
) -> str | None:
    """``None`` when the point is plausible, else why it is not.

    The county's box is spanned by its earlier located visits (no map data needed) and widened
    by COUNTY_MARGIN_DEG; with too few points only the China box is checked."""
    lat_min, lat_max, lon_min, lon_max = CHINA_BOX
    if not (lat_min <= lat <= lat_max and lon_min <= lon <= lon_max):
        return "outside_china"
    row = (
        await session.execute(
            sa.select(
                sa.func.count(Visit.lat),
                sa.func.min(Visit.lat),
                sa.func.max(Visit.lat),
                sa.func.min(Visit.lon),
                sa.func.max(Visit.lon),
            ).where(
                Visit.village_id.in_(county_village_ids),
                Visit.lat.is_not(None),
                Visit.location_flag.is_(None),
            )
        )
    ).one()
    count, a, b, c, d = row
    if count < COUNTY_MIN_POINTS:
        return None
    m = COUNTY_MARGIN_DEG
    if not (a - m <= lat <= b + m and c - m <= lon <= d + m):
        return "outside_county"
    return None


async def recent_households_of(
    session: AsyncSession, visitor_id: int, village_id: int, limit: int = 5
) -> list[HouseholdDTO]:
    """Households this person visited most recently (for "which household is this photo?")."""
    sub = (
        sa.select(Visit.household_id, sa.func.max(Visit.id).label("last"))
        .where(Visit.visitor_id == visitor_id, Visit.village_id == village_id)
        .group_by(Visit.household_id)
        .subquery()
    )
    rows = await session.scalars(
        sa.select(Household)
        .join(sub, sub.c.household_id == Household.id)
        .order_by(sub.c.last.desc())
        .limit(limit)
    )
    return [_hh(h) for h in rows]


async def last_visit_of(session: AsyncSession, household_id: int) -> VisitDTO | None:
    """The household's latest active visit, by anyone."""
    v = await session.scalar(
        sa.select(Visit)
        .where(Visit.household_id == household_id, Visit.status == "active")
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(1)
    )
    return _visit(v) if v else None


async def visits_between(
    session: AsyncSession, village_id: int, start: datetime, end: datetime, limit: int = 8
) -> list[tuple[VisitDTO, str]]:
    """Active visits of a village in [start, end), latest first, with the household's head."""
    rows = await session.execute(
        sa.select(Visit, Household.head_name)
        .join(Household, Household.id == Visit.household_id)
        .where(
            Visit.village_id == village_id,
            Visit.status == "active",
            Visit.visited_at >= start,
            Visit.visited_at < end,
        )
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(limit)
    )
    return [(_visit(v), name) for v, name in rows]
