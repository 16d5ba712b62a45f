"""一户一档 for the console: households found by name or code within a set of villages (paged),
and one household's file: its visits (newest first, paged, with photo counts) and problems."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage import photos as photo_store
from storage.models import Household, Person, Photo, Problem, Visit

MAX_QUERY = 50
PROBLEMS_SHOWN = 50


@dataclass(frozen=True)
class HouseholdRow:
    id: int
    code: str
    head_name: str
    category: str
    members: int
    village_id: int
    helper: str | None
    phone: str | None  # as stored; the service masks it
    active: bool


@dataclass(frozen=True)
class VisitRow:
    id: int
    visited_at: datetime
    visitor: str
    checklist: dict[str, Any]
    note: str | None
    status: str
    photos: int
    location_flag: str | None
    voices: tuple[str, ...] = ()  # voice notes' paths under the media folder, oldest first


@dataclass(frozen=True)
class ProblemRow:
    id: int
    kind: str
    description: str
    status: str
    found_at: datetime
    closed_at: datetime | None


_Helper = aliased(Person)


def _rows() -> sa.Select[Any]:
    return sa.select(
        Household.id,
        Household.code,
        Household.head_name,
        Household.category,
        Household.members,
        Household.village_id,
        sa.func.coalesce(Household.helper_name, _Helper.name),
        Household.phone,
        Household.active,
    ).outerjoin(_Helper, _Helper.id == Household.helper_id)


@dataclass(frozen=True)
class Filters:
    """The registry's filters beside the name or code: retired households too, one category,
    and only households with no active visit in ``unvisited_in`` (``YYYY-MM``) or later."""

    retired: bool = False
    category: str | None = None
    unvisited_in: str | None = None


def _matching(village_ids: list[int], query: str, f: Filters) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Household.village_id.in_(village_ids)]
    if not f.retired:
        where.append(Household.active.is_(True))
    if f.category is not None:
        where.append(Household.category == f.category)
    if f.unvisited_in is not None:  # last_month: the latest month with an active visit
        where.append(sa.or_(Household.last_month.is_(None), Household.last_month < f.unvisited_in))
    found = name_or_code(query)
    if found is not None:
        where.append(found)
    return where


def name_or_code(query: str) -> sa.ColumnElement[bool] | None:
    """Households whose code starts with, or head name contains, ``query`` (None: no query)."""
    q = query.strip()[:MAX_QUERY]
    if not q:
        return None
    return sa.or_(
        sa.func.lower(Household.code).startswith(q.lower(), autoescape=True),
        Household.head_name.contains(q, autoescape=True),
    )


async def count_matching(
    session: AsyncSession, village_ids: list[int], query: str, filters: Filters = Filters()
) -> int:
    if not village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Household)
        .where(*_matching(village_ids, query, filters))
    )
    return int(n or 0)


async def find(
    session: AsyncSession,
    village_ids: list[int],
    query: str,
    *,
    limit: int,
    offset: int,
    filters: Filters = Filters(),
) -> list[HouseholdRow]:
    """Households whose code starts with, or head name contains, ``query``, by code, within
    ``filters`` (active ones only unless ``filters.retired``)."""
    if not village_ids:
        return []
    rows = await session.execute(
        _rows()
        .where(*_matching(village_ids, query, filters))
        .order_by(Household.code)
        .limit(limit)
        .offset(offset)
    )
    return [HouseholdRow(*r) for r in rows]


async def household(session: AsyncSession, household_id: int) -> HouseholdRow | None:
    row = (await session.execute(_rows().where(Household.id == household_id))).first()
    return HouseholdRow(*row) if row else None


async def count_visits(session: AsyncSession, household_id: int) -> int:
    n = await session.scalar(
        sa.select(sa.func.count()).select_from(Visit).where(Visit.household_id == household_id)
    )
    return int(n or 0)


async def visits(
    session: AsyncSession, household_id: int, *, limit: int, offset: int
) -> list[VisitRow]:
    """The household's visits, revoked ones included (marked), newest first."""
    photos = (
        sa.select(sa.func.count(Photo.id))
        .where(Photo.visit_id == Visit.id, Photo.kind == "photo")
        .scalar_subquery()
    )
    rows = await session.execute(
        sa.select(
            Visit.id,
            Visit.visited_at,
            Person.name,
            Visit.checklist,
            Visit.note,
            Visit.status,
            photos,
            Visit.location_flag,
        )
        .join(Person, Person.id == Visit.visitor_id)
        .where(Visit.household_id == household_id)
        .order_by(Visit.visited_at.desc(), Visit.id.desc())
        .limit(limit)
        .offset(offset)
    )
    found = list(rows)
    voices = await photo_store.voices_of(session, visit_ids=[r[0] for r in found])
    return [
        VisitRow(vid, at, name, dict(checks or {}), note, status, int(n or 0), flag,
                 voices.get(vid, ()))
        for vid, at, name, checks, note, status, n, flag in found
    ]  # fmt: skip


async def problems(session: AsyncSession, household_id: int) -> list[ProblemRow]:
    """The household's problems, open ones first, newest first."""
    rows = await session.execute(
        sa.select(
            Problem.id,
            Problem.kind,
            Problem.description,
            Problem.status,
            Problem.found_at,
            Problem.closed_at,
        )
        .where(Problem.household_id == household_id)
        .order_by((Problem.status == "open").desc(), Problem.found_at.desc())
        .limit(PROBLEMS_SHOWN)
    )
    return [ProblemRow(*r) for r in rows]
