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
from storage.models import Household, Region, Visit

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


@dataclass(frozen=True)
class HouseholdProgress:
    household_id: int
    code: str
    head_name: str
    category: str
    required: int
    visited: int


@dataclass(frozen=True)
class Coverage:
    region_id: int
    name: str
    households_due: int  # households with a quota above zero
    households_met: int  # ... that reached it
    visits_required: int
    visits_done: int  # capped at each household's quota

    @property
    def percent(self) -> float:
        return 100.0 * self.households_met / self.households_due if self.households_due else 100.0


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


# --- monthly progress and coverage ---------------------------------------------------------


def _quota_expr(quotas: dict[str, int]) -> sa.ColumnElement[int]:
    if not quotas:
        return sa.literal(0)
    return sa.case(quotas, value=Household.category, else_=0)


def _month_counts(month: str, village_ids: list[int] | None = None) -> sa.Subquery:
    query = (
        sa.select(Visit.household_id, sa.func.count().label("n"))
        .where(Visit.month == month, Visit.status == "active")
        .group_by(Visit.household_id)
    )
    if village_ids is not None:
        query = query.where(Visit.village_id.in_(village_ids))
    return query.subquery()


async def village_progress(
    session: AsyncSession, village_id: int, month: str, quotas: dict[str, int]
) -> list[HouseholdProgress]:
    """Every active household of a village with its quota and this month's visits."""
    counts = _month_counts(month, [village_id])
    quota = _quota_expr(quotas)
    rows = await session.execute(
        sa.select(
            Household.id,
            Household.code,
            Household.head_name,
            Household.category,
            quota.label("required"),
            sa.func.coalesce(counts.c.n, 0).label("visited"),
        )
        .select_from(Household)
        .outerjoin(counts, counts.c.household_id == Household.id)
        .where(Household.village_id == village_id, Household.active.is_(True))
        .order_by(Household.id)
    )
    return [HouseholdProgress(*r) for r in rows]


def still_due(progress: list[HouseholdProgress]) -> list[HouseholdProgress]:
    """Households below their quota: fewest visits first, then most visits still owed."""
    due = [p for p in progress if p.visited < p.required]
    return sorted(due, key=lambda p: (p.visited, p.visited - p.required, p.household_id))


async def coverage_by_village(
    session: AsyncSession, village_ids: list[int], month: str, quotas: dict[str, int]
) -> list[Coverage]:
    """One row per village, computed in one GROUP BY over households and this month's visits."""
    if not village_ids:
        return []
    counts = _month_counts(month, village_ids)
    quota = _quota_expr(quotas)
    visited = sa.func.coalesce(counts.c.n, 0)
    per_household = (
        sa.select(
            Household.village_id.label("village_id"),
            quota.label("req"),
            visited.label("done"),
        )
        .select_from(Household)
        .outerjoin(counts, counts.c.household_id == Household.id)
        .where(Household.village_id.in_(village_ids), Household.active.is_(True))
        .subquery()
    )
    h = per_household.c
    capped = sa.case((h.done > h.req, h.req), else_=h.done)
    query = (
        sa.select(
            Region.id,
            Region.name,
            sa.func.coalesce(sa.func.sum(sa.case((h.req > 0, 1), else_=0)), 0),
            sa.func.coalesce(
                sa.func.sum(sa.case(((h.req > 0) & (h.done >= h.req), 1), else_=0)), 0
            ),
            sa.func.coalesce(sa.func.sum(h.req), 0),
            sa.func.coalesce(sa.func.sum(capped), 0),
        )
        .select_from(Region)
        .outerjoin(per_household, h.village_id == Region.id)
        .where(Region.id.in_(village_ids))
        .group_by(Region.id, Region.name)
        .order_by(Region.id)
    )
    return [Coverage(r[0], r[1], *(int(x) for x in r[2:])) for r in await session.execute(query)]


def summarize(progress: list[HouseholdProgress], region_id: int, name: str) -> Coverage:
    """A village's coverage from its progress rows (saves a second query for 本月走访)."""
    due = [p for p in progress if p.required > 0]
    return Coverage(
        region_id,
        name,
        len(due),
        sum(1 for p in due if p.visited >= p.required),
        sum(p.required for p in due),
        sum(min(p.visited, p.required) for p in due),
    )


def roll_up(rows: list[Coverage], region_id: int, name: str) -> Coverage:
    return Coverage(
        region_id,
        name,
        sum(r.households_due for r in rows),
        sum(r.households_met for r in rows),
        sum(r.visits_required for r in rows),
        sum(r.visits_done for r in rows),
    )


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
