"""Which assignments are still open (work the village may still do): the delivery worker asks
this for a whole batch before it sends task pushes and reminders."""

from __future__ import annotations

from collections.abc import Iterable

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import OPEN, TaskStatus
from storage.models import Assignment, Task

_CHUNK = 500


async def open_assignments(session: AsyncSession, assignment_ids: Iterable[int]) -> set[int]:
    """The ids among ``assignment_ids`` that are open and whose task is active (one query per
    500 ids)."""
    ids = sorted(set(assignment_ids))
    found: set[int] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        rows = await session.scalars(
            sa.select(Assignment.id)
            .join(Task, Task.id == Assignment.task_id)
            .where(
                Assignment.id.in_(chunk),
                Assignment.status.in_(OPEN),
                Task.status == TaskStatus.ACTIVE,
            )
        )
        found.update(rows)
    return found
