"""One county's day in figures, as the evening digest (and the county console) shows it.

Today's visits and problems per township, overdue assignments per village, the
acknowledgement rate of today's broadcasts, the villages with the lowest visit coverage this
month, policy questions waiting for staff, and messages that could not be delivered. A fixed
number of queries per county, whatever its size; the caller renders.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.rules import QuotaPolicy
from core.statuses import (
    OPEN,
    AssignmentStatus,
    ProblemStatus,
    TaskKind,
    TaskStatus,
    VisitStatus,
)
from storage.models import Assignment, Problem, Question, Task, Visit
from storage.readmodels.coverage import Coverage, coverage_by_village
from storage.readmodels.dead_letters import DeadLetterCount, dead_letter_counts
from storage.readmodels.places import VillagePlace, villages_of_county

LOWEST = 5
# Dead letters of the day before count too: the digest goes out in the evening.
DEAD_SINCE = timedelta(days=1)


@dataclass(frozen=True)
class Acks:
    """Today's tasks and notices, and how many of their assignments were acknowledged."""

    broadcasts: int = 0
    done: int = 0
    total: int = 0


@dataclass(frozen=True)
class CountyDay:
    visits_by_town: dict[str, int] = field(default_factory=dict)
    problems_by_town: dict[str, int] = field(default_factory=dict)
    overdue_by_village: list[tuple[str, int]] = field(default_factory=list)  # most first
    unassigned: int = 0  # open assignments nobody receives (a village without a secretary)
    acks: Acks = Acks()
    lowest: list[Coverage] = field(default_factory=list)  # lowest coverage first
    pending_questions: int = 0
    dead_letters: list[DeadLetterCount] = field(default_factory=list)


@dataclass(frozen=True)
class Day:
    """The local day as UTC bounds, its month (``YYYY-MM``) and the moment of asking."""

    start: datetime
    end: datetime
    month: str
    now: datetime


async def county_day(
    session: AsyncSession, county_id: int, day: Day, policy: QuotaPolicy
) -> CountyDay:
    """Everything the evening digest says about one county."""
    places = await villages_of_county(session, county_id)
    if not places:
        return CountyDay()
    village_ids = list(places)
    coverage = await coverage_by_village(session, village_ids, day.month, policy)
    return CountyDay(
        visits_by_town=await _visits_by_town(session, places, day),
        problems_by_town=await _problems_by_town(session, places, day),
        overdue_by_village=await overdue_by_village(session, county_id, places, day.now),
        unassigned=await _unassigned(session, county_id),
        acks=await _acks(session, county_id, day),
        lowest=sorted((c for c in coverage if c.households_due), key=lambda c: (c.share, c.name))[
            :LOWEST
        ],
        pending_questions=await _pending_questions(session, county_id),
        dead_letters=await dead_letter_counts(session, county_id, day.start - DEAD_SINCE),
    )


def _by_town(places: dict[int, VillagePlace], rows: sa.Result[tuple[int, int]]) -> dict[str, int]:
    out: dict[str, int] = {}
    for vid, n in rows:
        town = places[vid].town_name
        out[town] = out.get(town, 0) + n
    return out


async def _visits_by_town(
    session: AsyncSession, places: dict[int, VillagePlace], day: Day
) -> dict[str, int]:
    rows = await session.execute(
        sa.select(Visit.village_id, sa.func.count())
        .where(
            Visit.village_id.in_(list(places)),
            Visit.visited_at >= day.start,
            Visit.visited_at < day.end,
            Visit.status == VisitStatus.ACTIVE,
        )
        .group_by(Visit.village_id)
    )
    return _by_town(places, rows)


async def _problems_by_town(
    session: AsyncSession, places: dict[int, VillagePlace], day: Day
) -> dict[str, int]:
    rows = await session.execute(
        sa.select(Problem.village_id, sa.func.count())
        .where(
            Problem.village_id.in_(list(places)),
            Problem.found_at >= day.start,
            Problem.found_at < day.end,
            Problem.status != ProblemStatus.VOID,
        )
        .group_by(Problem.village_id)
    )
    return _by_town(places, rows)


def _open_of_county(county_id: int) -> sa.ColumnElement[bool]:
    return sa.and_(
        Task.county_id == county_id,
        Task.status == TaskStatus.ACTIVE,
        Assignment.status.in_(OPEN),
    )


async def overdue_by_village(
    session: AsyncSession, county_id: int, places: dict[int, VillagePlace], now: datetime
) -> list[tuple[str, int]]:
    """Open assignments past their deadline per village of ``places`` (most first): the
    digest's figure, and the console's for a county, a township or a village."""
    rows = await session.execute(
        sa.select(Assignment.village_id, sa.func.count())
        .join(Task, Task.id == Assignment.task_id)
        .where(
            _open_of_county(county_id),
            Assignment.deadline < now,
            Assignment.village_id.in_(list(places)),
        )
        .group_by(Assignment.village_id)
    )
    named = [(places[vid].village_name if vid in places else str(vid), int(n)) for vid, n in rows]
    return sorted(named, key=lambda r: (-r[1], r[0]))


async def _unassigned(session: AsyncSession, county_id: int) -> int:
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Assignment)
        .join(Task, Task.id == Assignment.task_id)
        .where(_open_of_county(county_id), Assignment.assignee_id.is_(None))
    )
    return int(n or 0)


async def _acks(session: AsyncSession, county_id: int, day: Day) -> Acks:
    row = (
        await session.execute(
            sa.select(
                sa.func.count(sa.distinct(Task.id)),
                sa.func.count(Assignment.id),
                sa.func.sum(sa.case((Assignment.status != AssignmentStatus.PENDING, 1), else_=0)),
            )
            .join(Assignment, Assignment.task_id == Task.id)
            .where(
                Task.county_id == county_id,
                Task.kind.in_((TaskKind.TASK, TaskKind.NOTICE)),
                Task.created_at >= day.start,
                Task.created_at < day.end,
            )
        )
    ).one()
    return Acks(broadcasts=int(row[0] or 0), total=int(row[1] or 0), done=int(row[2] or 0))


async def _pending_questions(session: AsyncSession, county_id: int) -> int:
    n = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Question)
        .where(Question.county_id == county_id, Question.status == "pending")
    )
    return int(n or 0)
