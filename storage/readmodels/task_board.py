"""Tasks as the console lists them: the tasks and notices that reached a set of villages, with
per-status counts over those villages only, and one task's assignments in them.

The caller passes the villages a person may see (services.scope), so a township officer sees a
county task with their own villages' rows and nothing of the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import OPEN, AssignmentStatus, TaskKind
from storage.models import Assignment, Task
from storage.task_rows import (
    AssignmentDTO,
    TaskDTO,
    assignment_dto,
    assignments_query,
    task_dto,
)

OVERDUE = "overdue"  # not a stored status: an open assignment past its deadline
# A village that answered a task or notice (收到, or went further).
ACKNOWLEDGED = (
    AssignmentStatus.ACKED,
    AssignmentStatus.SUBMITTED,
    AssignmentStatus.APPROVED,
    AssignmentStatus.RETURNED,
)


@dataclass(frozen=True)
class TaskTally:
    task: TaskDTO
    counts: dict[str, int]  # stored status -> how many, plus OVERDUE
    total: int

    def share(self, *statuses: str) -> float:
        done = sum(self.counts.get(s, 0) for s in statuses)
        return done / self.total if self.total else 0.0

    @property
    def acknowledged(self) -> float:
        """The share of villages that acknowledged it."""
        return self.share(*ACKNOWLEDGED)

    @property
    def completed(self) -> float:
        """The share done: approved for a task, acknowledged for a notice."""
        if self.task.kind == TaskKind.NOTICE:
            return self.acknowledged
        return self.share(AssignmentStatus.APPROVED)


def _reaching(village_ids: list[int]) -> sa.ColumnElement[bool]:
    return sa.exists(
        sa.select(Assignment.id).where(
            Assignment.task_id == Task.id, Assignment.village_id.in_(village_ids)
        )
    )


def _filters(
    village_ids: list[int],
    status: str | None,
    created: tuple[datetime, datetime] | None,
) -> list[sa.ColumnElement[bool]]:
    where = [Task.kind != TaskKind.RECTIFY, _reaching(village_ids)]
    if status:
        where.append(Task.status == status)
    if created:
        where += [Task.created_at >= created[0], Task.created_at < created[1]]
    return where


async def count_tasks(
    session: AsyncSession,
    village_ids: list[int],
    *,
    status: str | None = None,
    created: tuple[datetime, datetime] | None = None,
) -> int:
    if not village_ids:
        return 0
    n = await session.scalar(
        sa.select(sa.func.count()).select_from(Task).where(*_filters(village_ids, status, created))
    )
    return int(n or 0)


async def task_page(
    session: AsyncSession,
    village_ids: list[int],
    now: datetime,
    *,
    limit: int,
    offset: int,
    status: str | None = None,
    created: tuple[datetime, datetime] | None = None,
) -> list[TaskTally]:
    """One page of the tasks reaching the villages, newest first, each with its counts."""
    if not village_ids:
        return []
    tasks = [
        task_dto(t)
        for t in await session.scalars(
            sa.select(Task)
            .where(*_filters(village_ids, status, created))
            .order_by(Task.id.desc())
            .limit(limit)
            .offset(offset)
        )
    ]
    return await _tallied(session, tasks, village_ids, now)


async def task_tallies(
    session: AsyncSession, task_ids: list[int], village_ids: list[int], now: datetime
) -> list[TaskTally]:
    """These tasks by id, each with its counts over the villages (as the task page shows)."""
    if not task_ids or not village_ids:
        return []
    tasks = [
        task_dto(t)
        for t in await session.scalars(
            sa.select(Task).where(Task.id.in_(task_ids)).order_by(Task.id)
        )
    ]
    return await _tallied(session, tasks, village_ids, now)


async def _tallied(
    session: AsyncSession, tasks: list[TaskDTO], village_ids: list[int], now: datetime
) -> list[TaskTally]:
    counts = await tallies(session, [t.id for t in tasks], village_ids, now)
    return [
        TaskTally(t, counts[t.id], sum(counts[t.id].values()) - counts[t.id][OVERDUE])
        for t in tasks
    ]


async def tallies(
    session: AsyncSession, task_ids: list[int], village_ids: list[int], now: datetime
) -> dict[int, dict[str, int]]:
    """task id -> {status: count, OVERDUE: count} over the given villages, in one query."""
    out: dict[int, dict[str, int]] = {t: {OVERDUE: 0} for t in task_ids}
    if not task_ids:
        return out
    late = sa.case((sa.and_(Assignment.status.in_(OPEN), Assignment.deadline < now), 1), else_=0)
    rows = await session.execute(
        sa.select(Assignment.task_id, Assignment.status, sa.func.count(), sa.func.sum(late))
        .where(Assignment.task_id.in_(task_ids), Assignment.village_id.in_(village_ids))
        .group_by(Assignment.task_id, Assignment.status)
    )
    for tid, status, n, overdue in rows:
        out[tid][status] = int(n)
        out[tid][OVERDUE] += int(overdue or 0)
    return out


async def assignments_in(
    session: AsyncSession, task_id: int, village_ids: list[int], *, limit: int, offset: int
) -> list[AssignmentDTO]:
    """One page of a task's assignments in the given villages, by village id."""
    if not village_ids:
        return []
    rows = await session.execute(
        assignments_query()
        .where(Assignment.task_id == task_id, Assignment.village_id.in_(village_ids))
        .order_by(Assignment.village_id)
        .limit(limit)
        .offset(offset)
    )
    return [assignment_dto(r) for r in rows]
