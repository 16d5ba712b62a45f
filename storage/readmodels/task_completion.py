"""The rows of the 任务完成情况表: each task or notice of a month, one row per village it went to.

A task belongs to a month when it was sent in it, is due in it, or was sent before it and a
village had still not finished it when the month began (so an overdue task shows up again
every month until it is done). Rectification items are per household and belong to the
问题清单; cancelled shares are left out. Who reviewed a submission comes from the
assignment's own history (storage.tasks writes an entry on 通过 and 退回).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.statuses import OPEN, AssignmentStatus, TaskKind
from storage.models import Assignment, Person, Task

_Creator = aliased(Person)
REVIEWS = ("approved", "returned")


@dataclass(frozen=True, slots=True)
class TaskEntry:
    task_id: int
    assignment_id: int
    kind: str
    title: str
    sent_by: str
    sent_at: datetime
    village_id: int
    status: str
    deadline: datetime | None  # the village's (a return moves it)
    acked_at: datetime | None
    submitted_at: datetime | None
    reviewed_by: int | None  # person id of the last 通过 / 退回
    reviewed_at: datetime | None
    return_reason: str | None


def _last_review(evidence: dict[str, Any] | None) -> tuple[int | None, datetime | None]:
    for entry in reversed((evidence or {}).get("history") or []):
        if isinstance(entry, dict) and entry.get("action") in REVIEWS:
            by = entry.get("by")
            try:
                at = datetime.fromisoformat(str(entry.get("at")))
            except ValueError:
                at = None
            return (by if isinstance(by, int) else None), at
    return None, None


async def task_entries(
    session: AsyncSession, village_ids: list[int], start: datetime, end: datetime
) -> list[TaskEntry]:
    """Tasks and notices of the month [start, end) in these villages, by task then village."""
    if not village_ids:
        return []
    unfinished_then = sa.and_(
        Task.created_at < start,
        sa.or_(
            Assignment.status.in_(OPEN),
            Assignment.closed_at >= start,
            Assignment.submitted_at >= start,
        ),
    )
    rows = await session.execute(
        sa.select(
            Task.id, Assignment.id, Task.kind, Task.title, _Creator.name, Task.created_at,
            Assignment.village_id, Assignment.status, Assignment.deadline, Assignment.acked_at,
            Assignment.submitted_at, Assignment.evidence, Assignment.return_reason,
        )
        .join(Task, Task.id == Assignment.task_id)
        .join(_Creator, _Creator.id == Task.created_by)
        .where(
            Assignment.village_id.in_(village_ids),
            Task.kind != TaskKind.RECTIFY,
            Assignment.status != AssignmentStatus.CANCELLED,
            Task.created_at < end,
            sa.or_(
                Task.created_at >= start,
                sa.and_(Task.deadline >= start, Task.deadline < end),
                unfinished_then,
            ),
        )
        .order_by(Task.id, Assignment.village_id)
    )  # fmt: skip
    out = []
    for tid, aid, kind, title, by, sent, vid, status, due, acked, sub, evidence, reason in rows:
        reviewer, reviewed_at = _last_review(evidence)
        out.append(
            TaskEntry(tid, aid, kind, title, by, sent, vid, status, due, acked, sub,
                      reviewer, reviewed_at, reason)
        )  # fmt: skip
    return out


async def names_of(session: AsyncSession, person_ids: set[int]) -> dict[int, str]:
    if not person_ids:
        return {}
    rows = await session.execute(
        sa.select(Person.id, Person.name).where(Person.id.in_(sorted(person_ids)))
    )
    return {pid: name for pid, name in rows}
