"""Figures of the county console's overview that no other reader had yet: households not
visited for a month, open problems by age, people never bound, unanswered questions of a
region. The shared ones (coverage, overdue by village, dead letters) come from their own read
models, so the console, the digests and the ledgers print the same numbers.

Every function takes the region's village ids or the region id itself (a county, township or
village), as resolved and checked by services.scope; none decides who may see what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.statuses import ProblemStatus
from storage.models import Household, Identity, Person, Problem, Question, Region

# Problem ages shown on the overview: (label days, upper bound in days; None: no bound).
AGE_BUCKETS: tuple[tuple[int, int | None], ...] = ((0, 7), (7, 15), (15, 30), (30, None))


@dataclass(frozen=True)
class StaleHousehold:
    household_id: int
    code: str
    head_name: str
    category: str
    village_id: int
    last_visit: datetime | None  # None: never visited


@dataclass(frozen=True)
class Named:
    id: int
    name: str
    role: str
    region_id: int


def people_within(region_id: int) -> sa.Select[tuple[int]]:
    """Ids of people whose region is ``region_id`` or lies below it (three levels deep)."""
    own = aliased(Region)
    parent = aliased(Region)
    return (
        sa.select(Person.id)
        .join(own, own.id == Person.region_id)
        .outerjoin(parent, parent.id == own.parent_id)
        .where(
            sa.or_(own.id == region_id, own.parent_id == region_id, parent.parent_id == region_id)
        )
    )


def _stale(village_ids: list[int], since: datetime) -> list[sa.ColumnElement[bool]]:
    """Active households whose latest active visit (kept on the household row by
    storage.visit_summary) is before ``since``, or that were never visited."""
    last = Household.last_visited_at
    return [
        Household.village_id.in_(village_ids),
        Household.active.is_(True),
        sa.or_(last.is_(None), last < since),
    ]


async def stale_count(session: AsyncSession, village_ids: list[int], since: datetime) -> int:
    """Active households with no active visit since ``since`` (never visited included)."""
    if not village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count()).select_from(Household).where(*_stale(village_ids, since))
    )
    return int(n or 0)


async def stale_page(
    session: AsyncSession,
    village_ids: list[int],
    since: datetime,
    *,
    limit: int,
    offset: int,
) -> list[StaleHousehold]:
    """One page of :func:`stale_count`'s households by village and code, each with its last
    active visit."""
    if not village_ids:
        return []
    rows = await session.execute(
        sa.select(
            Household.id,
            Household.code,
            Household.head_name,
            Household.category,
            Household.village_id,
            Household.last_visited_at,
        )
        .where(*_stale(village_ids, since))
        .order_by(Household.village_id, Household.code)
        .limit(limit)
        .offset(offset)
    )
    return [StaleHousehold(*r) for r in rows]


async def open_problems_by_age(
    session: AsyncSession, village_ids: list[int], now: datetime
) -> list[tuple[int, int | None, int]]:
    """Open problems (整改中) per age bucket: (from days, to days or None, how many)."""
    if not village_ids:
        return [(lo, hi, 0) for lo, hi in AGE_BUCKETS]
    cases = []
    for lo, hi in AGE_BUCKETS:
        cond = Problem.found_at <= now - timedelta(days=lo)
        if hi is not None:
            cond = sa.and_(cond, Problem.found_at > now - timedelta(days=hi))
        cases.append(sa.func.coalesce(sa.func.sum(sa.case((cond, 1), else_=0)), 0))
    row = (
        await session.execute(
            sa.select(*cases).where(
                Problem.village_id.in_(village_ids), Problem.status == ProblemStatus.OPEN
            )
        )
    ).one()
    return [(lo, hi, int(n)) for (lo, hi), n in zip(AGE_BUCKETS, row, strict=True)]


def _never_bound(region_id: int) -> sa.ColumnElement[bool]:
    bound = sa.select(Identity.person_id)
    return sa.and_(
        Person.id.in_(people_within(region_id)), Person.active.is_(True), Person.id.not_in(bound)
    )


async def never_bound_count(session: AsyncSession, region_id: int) -> int:
    """Active people of the region with no channel identity: invited, never bound."""
    n = await session.scalar(
        sa.select(sa.func.count()).select_from(Person).where(_never_bound(region_id))
    )
    return int(n or 0)


async def never_bound(session: AsyncSession, region_id: int, limit: int) -> list[Named]:
    rows = await session.execute(
        sa.select(Person.id, Person.name, Person.role, Person.region_id)
        .where(_never_bound(region_id))
        .order_by(Person.id)
        .limit(limit)
    )
    return [Named(*r) for r in rows]


async def pending_questions(session: AsyncSession, county_id: int, region_id: int) -> int:
    """Policy questions waiting for staff (the digest's figure when ``region_id`` is the
    county; below it, those asked by the region's people)."""
    query = (
        sa.select(sa.func.count())
        .select_from(Question)
        .where(Question.county_id == county_id, Question.status == "pending")
    )
    if region_id != county_id:
        query = query.where(Question.asked_by.in_(people_within(region_id)))
    return int(await session.scalar(query) or 0)
