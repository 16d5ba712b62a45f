"""What the reminder scan reads and writes: assignments whose next reminder time has come (or
that were never scheduled), their tasks' offsets, the ``remind_at`` cursor, and the overdue
villages of a task for the creator's escalation.

Two plain single-table lookups, each on its own index (the ``remind_at`` range; the partial
``ix_assignments_unscheduled`` index), so the plan does not depend on fresh planner statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import OPEN
from storage.models import Assignment, Region, Task
from storage.task_rows import returns_in

_CHUNK = 5000


@dataclass(frozen=True)
class ScanRow:
    """One assignment as the scan sees it."""

    id: int
    assignee_id: int | None
    deadline: datetime | None
    remind_at: datetime | None
    updated_at: datetime
    returns: int  # how many times it was returned: the round of its reminder keys
    task_id: int
    status: str


@dataclass(frozen=True)
class ScanTask:
    id: int
    title: str
    offsets: tuple[str, ...]
    status: str
    kind: str = "task"
    number: int = 0  # the public number a reminder names it by (core.numbers)
    county_id: int = 0  # whose outbox lane its reminders take


@dataclass(frozen=True)
class OverdueVillage:
    task_id: int
    kind: str
    number: int
    title: str
    created_by: int
    deadline: datetime
    village_name: str


def _naive(column: Any) -> Any:
    # read as stored (naive UTC) and made aware once per distinct value below: the rows of
    # one task share their deadline and reminder time, and 5,000 rows' converters add up
    return sa.type_coerce(column, sa.DateTime()).label(column.key)


_COLUMNS = (
    Assignment.id,
    Assignment.assignee_id,
    _naive(Assignment.deadline),
    _naive(Assignment.remind_at),
    _naive(Assignment.updated_at),
    Assignment.evidence,
    Assignment.task_id,
    Assignment.status,
)


def _rows(result: Iterable[sa.Row[Any]]) -> list[ScanRow]:
    aware: dict[datetime | None, datetime | None] = {None: None}

    def utc(value: datetime | None) -> Any:
        got = aware.get(value, _MISSING)
        if got is _MISSING:
            got = aware[value] = value.replace(tzinfo=UTC) if value is not None else None
        return got

    return [
        ScanRow(
            aid,
            assignee,
            utc(deadline),
            utc(remind_at),
            utc(updated_at),
            returns_in(evidence),
            task_id,
            status,
        )
        for aid, assignee, deadline, remind_at, updated_at, evidence, task_id, status in result
    ]


_MISSING: Any = object()


async def due(session: AsyncSession, now: datetime, limit: int) -> list[ScanRow]:
    """Up to ``limit`` rows whose next reminder time has come, earliest first."""
    rows = await session.execute(
        sa.select(*_COLUMNS)
        .where(Assignment.remind_at <= now)
        .order_by(Assignment.remind_at)
        .limit(limit)
    )
    return _rows(rows)


async def unscheduled(session: AsyncSession, limit: int) -> list[ScanRow]:
    """Up to ``limit`` open rows with a deadline the scan has not scheduled yet."""
    if limit <= 0:
        return []
    rows = await session.execute(
        sa.select(*_COLUMNS)
        .where(
            Assignment.remind_at.is_(None),
            Assignment.deadline.is_not(None),
            Assignment.status.in_(OPEN),
        )
        .limit(limit)
    )
    return _rows(rows)


async def tasks_by_id(session: AsyncSession, task_ids: Iterable[int]) -> dict[int, ScanTask]:
    rows = await session.execute(
        sa.select(
            Task.id,
            Task.title,
            Task.reminder_offsets,
            Task.status,
            Task.kind,
            Task.number,
            Task.county_id,
        ).where(Task.id.in_(list(task_ids)))
    )
    return {
        tid: ScanTask(
            tid, title, tuple(str(o) for o in (offsets or ())), status, kind, number, county
        )
        for tid, title, offsets, status, kind, number, county in rows
    }


async def set_remind_at(
    session: AsyncSession, by_value: Mapping[datetime | None, Sequence[int]]
) -> None:
    """Move the cursor: one UPDATE per distinct value (rows of one task share their next time),
    not per row."""
    for value, ids in by_value.items():
        for start in range(0, len(ids), _CHUNK):
            await session.execute(
                sa.update(Assignment)
                .where(Assignment.id.in_(list(ids[start : start + _CHUNK])))
                .values(remind_at=value)
            )


async def overdue_villages(
    session: AsyncSession, task_ids: Iterable[int], cutoff: datetime
) -> list[OverdueVillage]:
    """Open assignments of these tasks whose deadline is at or before ``cutoff``, by task,
    deadline and village name."""
    rows = await session.execute(
        sa.select(
            Task.id,
            Task.kind,
            Task.number,
            Task.title,
            Task.created_by,
            Assignment.deadline,
            Region.name,
        )
        .join(Assignment, Assignment.task_id == Task.id)
        .join(Region, Region.id == Assignment.village_id)
        .where(
            Task.id.in_(list(task_ids)),
            Assignment.status.in_(OPEN),
            Assignment.deadline <= cutoff,
        )
        .order_by(Task.id, Assignment.deadline, Region.name)
    )
    return [OverdueVillage(*r) for r in rows]
