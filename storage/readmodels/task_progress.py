"""One task's progress over time, for the console's chart: when each village of a set reached
收到, 已提交 and 已通过, counted from the stages the villages hold now.

A village counts for a stage when its current status is that stage or a later one, so the
counts at the end equal the task page's village x status view: 收到 = acked + submitted +
approved + returned, 已提交 = submitted + approved, 已通过 = approved. The times are the rows'
own: ``acked_at`` (a village may submit without acknowledging first: then its first later
time), ``submitted_at`` (the latest submission) and ``closed_at`` (the approval).
"""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import AssignmentStatus
from storage.models import Assignment

ACKED, SUBMITTED, APPROVED = "acked", "submitted", "approved"
STAGES = (ACKED, SUBMITTED, APPROVED)
_REACHED = {
    ACKED: (
        AssignmentStatus.ACKED,
        AssignmentStatus.SUBMITTED,
        AssignmentStatus.APPROVED,
        AssignmentStatus.RETURNED,
    ),
    SUBMITTED: (AssignmentStatus.SUBMITTED, AssignmentStatus.APPROVED),
    APPROVED: (AssignmentStatus.APPROVED,),
}
_TIMES = {
    ACKED: (Assignment.acked_at, Assignment.submitted_at, Assignment.closed_at),
    SUBMITTED: (Assignment.submitted_at, Assignment.closed_at),
    APPROVED: (Assignment.closed_at,),
}


def _stage(
    stage: str, task_id: int, village_ids: list[int]
) -> sa.Select[tuple[str, datetime, int]]:
    at = sa.func.coalesce(*_TIMES[stage], Assignment.updated_at).label("at")
    return (
        sa.select(sa.literal(stage).label("stage"), at, sa.func.count().label("n"))
        .where(
            Assignment.task_id == task_id,
            Assignment.village_id.in_(village_ids),
            Assignment.status.in_(_REACHED[stage]),
        )
        .group_by(at)
    )


async def stage_times(
    session: AsyncSession, task_id: int, village_ids: list[int]
) -> dict[str, list[tuple[datetime, int]]]:
    """stage -> [(time, how many villages reached it then)], oldest first, over the villages;
    one query (three grouped selects, each on the task's ``task_village`` index)."""
    out: dict[str, list[tuple[datetime, int]]] = {s: [] for s in STAGES}
    if not village_ids:
        return out
    union = sa.union_all(*(_stage(s, task_id, village_ids) for s in STAGES)).subquery()
    rows = await session.execute(
        sa.select(union.c.stage, union.c.at, union.c.n).order_by(union.c.stage, union.c.at)
    )
    for stage, at, n in rows:
        out[stage].append((at, int(n)))
    return out
