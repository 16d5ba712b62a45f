"""What each village cadre must do soon, for the morning digest: open assignments due before
``until`` (the end of today plus a few days) or already overdue, returned ones, and notices not
yet acknowledged."""

from __future__ import annotations

from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import OPEN, AssignmentStatus, TaskKind, TaskStatus
from storage.models import Assignment, Task

PEOPLE_CHUNK = 5000


class MorningItem(NamedTuple):
    """One line's worth of work (a plain tuple: a morning reads a million of them);
    ``item[1:6]`` is what its line depends on."""

    assignment_id: int
    status: str
    deadline: datetime | None
    kind: str  # a TaskKind
    title: str
    number: int  # the public number (core.numbers): how the line names the item
    assignee_id: int


def _deadline(session: AsyncSession) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        # timezone('UTC', naive UTC) is a timestamptz: the driver hands over an aware UTC
        # datetime, no converter per row on this side
        aware = sa.func.timezone("UTC", Assignment.deadline)
        return sa.type_coerce(aware, sa.DateTime(timezone=True)).label("deadline")
    return Assignment.deadline


def _assigned_to(session: AsyncSession, person_ids: list[int]) -> sa.ColumnElement[bool]:
    if session.get_bind().dialect.name == "postgresql":  # one array, not thousands of binds
        return Assignment.assignee_id == sa.any_(
            sa.bindparam("people", person_ids, type_=ARRAY(sa.BigInteger))
        )
    return Assignment.assignee_id.in_(person_ids)


async def morning_items(
    session: AsyncSession, person_ids: list[int], until: datetime
) -> dict[int, list[MorningItem]]:
    """Per person, their open assignments worth a line this morning, earliest deadline first."""
    out: dict[int, list[MorningItem]] = {}
    for start in range(0, len(person_ids), PEOPLE_CHUNK):
        chunk = person_ids[start : start + PEOPLE_CHUNK]
        # on the session's connection: Core rows, no ORM result machinery
        rows = await (await session.connection()).execute(
            sa.select(
                Assignment.id,
                Assignment.status,
                _deadline(session),
                Task.kind,
                Task.title,
                Task.number,
                Assignment.assignee_id,
            )
            .join(Task, Task.id == Assignment.task_id)
            .where(
                _assigned_to(session, chunk),
                Assignment.status.in_(OPEN),
                Task.status == TaskStatus.ACTIVE,
                sa.or_(
                    Assignment.deadline < until,
                    Assignment.status == AssignmentStatus.RETURNED,
                    Task.kind == TaskKind.NOTICE,
                ),
            )
            .order_by(Assignment.deadline)
        )
        for item in map(MorningItem._make, rows.all()):
            got = out.get(item.assignee_id)
            if got is None:
                out[item.assignee_id] = [item]
            else:
                got.append(item)
    return out
