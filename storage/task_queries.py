"""Read queries over tasks and assignments for the people who follow them: a secretary's open
items, a county's submissions awaiting review, its active tasks with per-status counts, and
the villages a task can be sent to."""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.roles import Level
from core.statuses import ACTIVE, AssignmentStatus, TaskKind, TaskStatus
from storage.models import Assignment, Person, Region, Task
from storage.task_rows import AssignmentDTO, TaskDTO, assignment_dto, assignments_query, task_dto


async def county_villages(session: AsyncSession, county_id: int) -> list[tuple[int, str, int, str]]:
    """(village id, village name, township id, township name) for every village of a county."""
    town = aliased(Region)
    rows = await session.execute(
        sa.select(Region.id, Region.name, town.id, town.name)
        .join(town, town.id == Region.parent_id)
        .where(town.parent_id == county_id, Region.level == Level.VILLAGE)
        .order_by(Region.id)
    )
    return [(vid, vname, tid, tname) for vid, vname, tid, tname in rows]


async def open_for_person(
    session: AsyncSession, person_id: int, limit: int = 200
) -> list[AssignmentDTO]:
    """A secretary's active assignments, earliest deadline first (notices last)."""
    rows = await session.execute(
        assignments_query()
        .where(
            Assignment.assignee_id == person_id,
            Assignment.status.in_(ACTIVE),
            Task.status == TaskStatus.ACTIVE,
        )
        .order_by(Assignment.deadline.is_(None), Assignment.deadline, Assignment.id)
        .limit(limit)
    )
    return [assignment_dto(r) for r in rows]


def _created_in(creator_region_id: int | None) -> sa.ColumnElement[bool]:
    """Tasks created by people of that region (``None``: any)."""
    if creator_region_id is None:
        return sa.true()
    creators = sa.select(Person.id).where(Person.region_id == creator_region_id)
    return Task.created_by.in_(creators)


async def created_within(session: AsyncSession, task_id: int, region_id: int) -> bool:
    """Whether the task's creator belongs to ``region_id``."""
    found = await session.scalar(
        sa.select(Task.id).where(Task.id == task_id, _created_in(region_id))
    )
    return found is not None


async def awaiting_review(
    session: AsyncSession,
    county_id: int,
    creator_region_id: int | None = None,
    limit: int = 200,
) -> list[AssignmentDTO]:
    rows = await session.execute(
        assignments_query()
        .where(
            Task.county_id == county_id,
            Assignment.status == AssignmentStatus.SUBMITTED,
            Task.kind != TaskKind.RECTIFY,  # fixes are reviewed as problems (待复核)
            _created_in(creator_region_id),
        )
        .order_by(Assignment.submitted_at, Assignment.id)
        .limit(limit)
    )
    return [assignment_dto(r) for r in rows]


async def tasks_of_county(
    session: AsyncSession, county_id: int, creator_region_id: int | None = None, limit: int = 50
) -> list[TaskDTO]:
    rows = await session.scalars(
        sa.select(Task)
        .where(
            Task.county_id == county_id,
            _created_in(creator_region_id),
            Task.status == TaskStatus.ACTIVE,
            Task.kind != TaskKind.RECTIFY,
        )
        .order_by(Task.id.desc())
        .limit(limit)
    )
    return [task_dto(t) for t in rows]


async def status_counts(
    session: AsyncSession, task_ids: Sequence[int]
) -> dict[int, dict[str, int]]:
    """task id -> {status: count}, for many tasks in one query."""
    out: dict[int, dict[str, int]] = {t: {} for t in task_ids}
    if not task_ids:
        return out
    rows = await session.execute(
        sa.select(Assignment.task_id, Assignment.status, sa.func.count())
        .where(Assignment.task_id.in_(list(task_ids)))
        .group_by(Assignment.task_id, Assignment.status)
    )
    for tid, status, n in rows:
        out[tid][status] = n
    return out
