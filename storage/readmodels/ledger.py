"""The rows of the monthly ledgers (走访台账, 问题清单); the 覆盖率 sheet is coverage.

Visits are streamed in chunks (a county's month can be 100k rows) so the writer can start on
the first chunk while the next is fetched. Rows are plain facts in UTC; turning them into
cells (local times, check labels, status words) is the writer's job (bot.reports).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.statuses import UNCLEARED, VisitStatus
from storage import photos as photo_store
from storage.models import Assignment, Household, Person, Photo, Problem, Visit

CHUNK = 2000
_Helper = aliased(Person)


def _helper_name() -> sa.ColumnElement[str | None]:
    """The household's 帮扶责任人: the name on the household, else the linked person's."""
    return sa.func.coalesce(Household.helper_name, _Helper.name)


@dataclass(frozen=True, slots=True)
class VisitEntry:
    id: int
    visited_at: datetime
    village_id: int
    code: str
    head_name: str
    category: str
    members: int
    helper: str | None
    phone: str | None  # as stored; the writer masks it
    visitor: str
    checklist: dict[str, Any]
    note: str | None
    photos: tuple[str, ...]  # the photos' paths under the media folder, oldest first
    lat: float | None
    lon: float | None
    location_flag: str | None
    voices: tuple[str, ...] = ()  # the voice notes' paths, oldest first


@dataclass(frozen=True, slots=True)
class ProblemEntry:
    number: int  # the problem's public number in its county (问题 5)
    village_id: int
    code: str
    head_name: str
    members: int
    helper: str | None
    phone: str | None
    kind: str
    description: str
    found_at: datetime
    deadline: datetime | None  # of its rectification assignment
    status: str
    closed_at: datetime | None
    voices: tuple[str, ...] = ()  # voice notes sent with 整改完成, oldest first


async def visit_count(session: AsyncSession, village_ids: list[int], month: str) -> int:
    """How many rows :func:`visit_entries` yields (an export's progress counts them)."""
    if not village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Visit)
        .where(
            Visit.month == month,
            Visit.status == VisitStatus.ACTIVE,
            Visit.village_id.in_(village_ids),
        )
    )
    return int(n or 0)


async def visit_entries(
    session: AsyncSession, village_ids: list[int], month: str, chunk: int = CHUNK
) -> AsyncIterator[list[VisitEntry]]:
    """The month's active visits in these villages, oldest first, ``chunk`` rows at a time."""
    query = (
        sa.select(
            Visit.id, Visit.visited_at, Visit.village_id, Household.code, Household.head_name,
            Household.category, Household.members, _helper_name(), Household.phone,
            Person.name, Visit.checklist, Visit.note, Visit.lat, Visit.lon, Visit.location_flag,
        )
        .join(Household, Household.id == Visit.household_id)
        .join(Person, Person.id == Visit.visitor_id)
        .outerjoin(_Helper, _Helper.id == Household.helper_id)
        .where(
            Visit.month == month,
            Visit.status == VisitStatus.ACTIVE,
            Visit.village_id.in_(village_ids),
        )
        .order_by(Visit.visited_at, Visit.id)
        .execution_options(yield_per=chunk)
    )  # fmt: skip
    result = await session.stream(query)
    async for part in result.partitions(chunk):
        # One query per chunk for its photos, run between the fetches of the stream.
        photos = await _photo_paths(session, [row[0] for row in part])
        voices = await photo_store.voices_of(session, visit_ids=[row[0] for row in part])
        yield [
            VisitEntry(id_, at, vid, code, head, cat, int(members or 0), helper, phone, visitor,
                       checks or {}, note, photos.get(id_, ()), lat, lon, flag,
                       voices.get(id_, ()))
            for (id_, at, vid, code, head, cat, members, helper, phone, visitor, checks, note,
                 lat, lon, flag) in part
        ]  # fmt: skip


async def _photo_paths(session: AsyncSession, visit_ids: list[int]) -> dict[int, tuple[str, ...]]:
    rows = await session.execute(
        sa.select(Photo.visit_id, Photo.path)
        .where(Photo.visit_id.in_(visit_ids), Photo.kind == "photo")
        .order_by(Photo.visit_id, Photo.id)
    )
    out: dict[int, list[str]] = {}
    for visit_id, path in rows:
        out.setdefault(visit_id, []).append(path)
    return {k: tuple(v) for k, v in out.items()}


async def problem_entries(
    session: AsyncSession, village_ids: list[int], start: datetime, end: datetime
) -> list[ProblemEntry]:
    """Problems found in [start, end), and older ones not yet cleared (open or waiting for
    review) at its end."""
    rows = await session.execute(
        sa.select(
            Problem.id, Problem.number, Problem.village_id, Household.code, Household.head_name,
            Household.members, _helper_name(), Household.phone, Problem.kind, Problem.description, Problem.found_at, Assignment.deadline, Problem.status,
            Problem.closed_at,
        )
        .join(Household, Household.id == Problem.household_id)
        .outerjoin(_Helper, _Helper.id == Household.helper_id)
        .outerjoin(Assignment, Assignment.id == Problem.assignment_id)
        .where(
            Problem.village_id.in_(village_ids),
            Problem.found_at < end,
            sa.or_(Problem.found_at >= start, Problem.status.in_(UNCLEARED)),
        )
        .order_by(Problem.county_id, Problem.number)
    )  # fmt: skip
    found = list(rows)
    voices: dict[int, tuple[str, ...]] = {}
    for at in range(0, len(found), CHUNK):
        ids = [r[0] for r in found[at : at + CHUNK]]
        voices |= await photo_store.voices_of(session, problem_ids=ids, limit=len(ids) * 20)
    entries = [(r[0], ProblemEntry(*r[1:])) for r in found]
    return [replace(e, voices=voices[pid]) if pid in voices else e for pid, e in entries]
