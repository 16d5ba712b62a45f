"""What the reminder scan reads and writes: assignments whose next reminder time has come (or
that were never scheduled), their tasks' offsets, the ``remind_at`` cursor, and the overdue
villages of a task for the creator's escalation.

Two plain single-table lookups, each on its own index (the ``remind_at`` range; the partial
``ix_assignments_unscheduled`` index), so the plan does not depend on fresh planner statistics.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import OPEN
from storage.models import Assignment, Region, Task

_CHUNK = 5000


class ScanGroup(NamedTuple):
    """Assignments the scan treats alike (one task, status, deadline, cursor and return round:
    on a busy minute most of a task's villages), with their ids and assignees in step. The
    scan decides once per group and writes a key per id; PostgreSQL groups them in SQL, so a
    batch of 5,000 assignments reaches Python as a few rows of two arrays each."""

    task_id: int
    status: str
    deadline: datetime | None
    cursor: datetime  # the time the schedule was last walked to: remind_at, else updated_at
    returns: int  # how many times it was returned: the round of its reminder keys
    ids: list[int]
    assignees: list[int | None]


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


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _returns(session: AsyncSession) -> Any:
    """How many entries of the evidence history say ``returned`` (``task_rows.returns_in``),
    counted in SQL: the evidence itself is not sent over and parsed per row."""
    if _postgres(session):
        # most evidence has no history yet: no set-returning call for those rows
        count = (
            "CASE WHEN assignments.evidence -> 'history' IS NULL THEN 0 ELSE "
            "(SELECT count(*) FROM jsonb_array_elements(assignments.evidence -> 'history') h "
            "WHERE h ->> 'action' = 'returned') END"
        )
    else:
        count = (
            "(SELECT count(*) FROM json_each(assignments.evidence, '$.history') h "
            "WHERE json_extract(h.value, '$.action') = 'returned')"
        )
    return sa.literal_column(count, sa.Integer()).label("returns")


def _rows(session: AsyncSession) -> sa.Select[Any]:
    return sa.select(
        Assignment.task_id,
        Assignment.status,
        Assignment.deadline,
        sa.func.coalesce(Assignment.remind_at, Assignment.updated_at).label("cursor"),
        _returns(session),
        Assignment.id,
        Assignment.assignee_id,
    )


async def _groups(session: AsyncSession, rows: sa.Select[Any]) -> list[ScanGroup]:
    """``rows`` as groups, the earliest cursor first, ids ascending within a group."""
    if not _postgres(session):  # the small edition: group here
        found: dict[tuple[Any, ...], ScanGroup] = {}
        for task_id, status, deadline, cursor, returns, aid, assignee in (
            await session.execute(rows)
        ).all():
            same = (task_id, status, deadline, cursor, returns)
            got = found.get(same)
            if got is None:
                got = found[same] = ScanGroup(task_id, status, deadline, cursor, returns, [], [])
            got.ids.append(aid)
            got.assignees.append(assignee)
        return sorted(found.values(), key=lambda g: (g.cursor, g.task_id))
    d = rows.subquery()

    def aware(column: Any) -> Any:
        # timezone('UTC', naive UTC) is a timestamptz, which the driver decodes as an aware
        # UTC datetime in C: no per-value converter on this side
        return sa.type_coerce(sa.func.timezone("UTC", column), sa.DateTime(timezone=True))

    def in_step(column: Any) -> Any:
        return sa.func.array_agg(aggregate_order_by(column, d.c.id), type_=ARRAY(sa.BigInteger))

    shared = (d.c.task_id, d.c.status, d.c.deadline, d.c.cursor, d.c.returns)
    query = (
        sa.select(
            d.c.task_id,
            d.c.status,
            aware(d.c.deadline),
            aware(d.c.cursor),
            d.c.returns,
            in_step(d.c.id),
            in_step(d.c.assignee_id),
        )
        .group_by(*shared)
        .order_by(d.c.cursor, d.c.task_id)
    )
    # on the session's connection: Core rows as they come, no ORM result machinery
    result = await (await session.connection()).execute(query)
    return list(map(ScanGroup._make, result.all()))


async def due(session: AsyncSession, now: datetime, limit: int) -> list[ScanGroup]:
    """Up to ``limit`` assignments whose next reminder time has come (the earliest), grouped."""
    rows = _rows(session).where(Assignment.remind_at <= now)
    return await _groups(session, rows.order_by(Assignment.remind_at).limit(limit))


async def unscheduled(session: AsyncSession, limit: int) -> list[ScanGroup]:
    """Up to ``limit`` open assignments with a deadline the scan has not scheduled yet,
    grouped."""
    if limit <= 0:
        return []
    rows = _rows(session).where(
        Assignment.remind_at.is_(None),
        Assignment.deadline.is_not(None),
        Assignment.status.in_(OPEN),
    )
    return await _groups(session, rows.limit(limit))


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
