"""The problem list (问题清单) and its rectification items (整改).

Each problem gets a Task(kind="rectify") and one Assignment to the reporter, the same model the
county's tasks use, so reminders and escalation work on both alike.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import Series
from core.statuses import UNCLEARED, AssignmentStatus, ProblemStatus, TaskKind, TaskStatus
from storage import counters
from storage import tasks as task_store
from storage.models import Assignment, Household, Problem, Task


@dataclass(frozen=True)
class ProblemDTO:
    """A problem; ``number`` is how people name it (``问题 5``), its rectification item too."""

    id: int
    number: int
    household_id: int
    household_name: str
    village_id: int
    visit_id: int | None
    kind: str
    description: str
    status: str
    assignment_id: int | None
    deadline: datetime | None
    found_at: datetime
    closed_at: datetime | None


def problems_query() -> sa.Select[tuple[Problem, str, datetime | None]]:
    return (
        sa.select(Problem, Household.head_name, Assignment.deadline)
        .join(Household, Household.id == Problem.household_id)
        .outerjoin(Assignment, Assignment.id == Problem.assignment_id)
    )


def problem_dto(row: sa.Row[tuple[Problem, str, datetime | None]]) -> ProblemDTO:
    p, name, deadline = row
    return ProblemDTO(
        p.id,
        p.number,
        p.household_id,
        name,
        p.village_id,
        p.visit_id,
        p.kind,
        p.description,
        p.status,
        p.assignment_id,
        deadline,
        p.found_at,
        p.closed_at,
    )


async def get(session: AsyncSession, problem_id: int) -> ProblemDTO | None:
    row = (await session.execute(problems_query().where(Problem.id == problem_id))).first()
    return problem_dto(row) if row else None


async def by_number(session: AsyncSession, county_id: int, number: int) -> ProblemDTO | None:
    """The county's problem ``number`` (``问题 5``)."""
    row = (
        await session.execute(
            problems_query().where(Problem.county_id == county_id, Problem.number == number)
        )
    ).first()
    return problem_dto(row) if row else None


async def open_problem(
    session: AsyncSession,
    *,
    household_id: int,
    village_id: int,
    county_id: int,
    visit_id: int | None,
    kind: str,
    title: str,
    description: str,
    reporter_id: int,
    now: datetime,
    deadline: datetime,
) -> ProblemDTO:
    # A rectification item is a task of kind "rectify" with one assignment, to its reporter,
    # so it gets the reminders and digests of any task (storage.tasks builds both rows). It
    # is the problem's own item, so it carries the problem's number.
    number = await counters.next_number(session, county_id, Series.PROBLEM)
    task_id = await task_store.insert_task(
        session,
        kind=TaskKind.RECTIFY,
        title=title[:200],
        body=description,
        created_by=reporter_id,
        county_id=county_id,
        now=now,
        deadline=deadline,
        evidence_required=True,
        scope={"village_ids": [village_id], "household_id": household_id},
        number=number,
    )
    await task_store.insert_assignments(
        session, task_id, {village_id: reporter_id}, deadline=deadline, now=now
    )
    assignment_id = await session.scalar(
        sa.select(Assignment.id).where(Assignment.task_id == task_id)
    )
    problem = Problem(
        county_id=county_id,
        number=number,
        household_id=household_id,
        village_id=village_id,
        visit_id=visit_id,
        kind=kind,
        description=description,
        status=ProblemStatus.OPEN,
        assignment_id=assignment_id,
        found_at=now,
    )
    session.add(problem)
    await session.flush()
    found = await get(session, problem.id)
    assert found is not None
    return found


async def for_visit(session: AsyncSession, visit_id: int) -> list[ProblemDTO]:
    rows = await session.execute(
        problems_query().where(Problem.visit_id == visit_id).order_by(Problem.id)
    )
    return [problem_dto(r) for r in rows]


async def void(session: AsyncSession, problem_id: int, now: datetime) -> None:
    """A problem withdrawn by 撤销/修改: kept on record, its assignment cancelled."""
    p = await session.get_one(Problem, problem_id)
    p.status = ProblemStatus.VOID
    p.closed_at = now
    if p.assignment_id:
        a = await session.get_one(Assignment, p.assignment_id)
        a.status, a.closed_at, a.updated_at = AssignmentStatus.CANCELLED, now, now
        t = await session.get_one(Task, a.task_id)
        t.status = TaskStatus.CANCELLED
    await session.flush()


async def open_list(
    session: AsyncSession,
    *,
    village_ids: list[int] | None = None,
    assignee_id: int | None = None,
    limit: int = 50,
) -> tuple[list[ProblemDTO], int]:
    """Problems not yet cleared (to fix, or waiting for review), oldest deadline first, and
    how many there are in all."""
    where: list[sa.ColumnElement[bool]] = [Problem.status.in_(UNCLEARED)]
    if village_ids is not None:
        where.append(Problem.village_id.in_(village_ids))
    if assignee_id is not None:
        where.append(Assignment.assignee_id == assignee_id)
    total = await session.scalar(
        sa.select(sa.func.count())
        .select_from(Problem)
        .outerjoin(Assignment, Assignment.id == Problem.assignment_id)
        .where(*where)
    )
    rows = await session.execute(
        problems_query().where(*where).order_by(Assignment.deadline, Problem.id).limit(limit)
    )
    return [problem_dto(r) for r in rows], int(total or 0)


async def by_assignment(session: AsyncSession, assignment_id: int) -> ProblemDTO | None:
    row = (
        await session.execute(problems_query().where(Problem.assignment_id == assignment_id))
    ).first()
    return problem_dto(row) if row else None
