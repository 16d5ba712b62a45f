"""Tasks sent down from the county (任务/通知), their per-village assignments and evidence.

An assignment is also what a rectification item (整改) becomes: ``Task(kind="rectify")`` with
one assignment to the reporter. Status moves:

    pending -> acked -> submitted -> approved
                  \\-> returned (new deadline) -> submitted ...
    any open status -> cancelled (the task was withdrawn)

"Overdue" is not stored: it is an open assignment whose deadline has passed.

``Assignment.evidence`` is ``{"texts": [..], "photo_ids": [..], "history": [..]}``: photo ids
(rows of ``storage.photos``), as a rectification keeps them. Rows and reads are in
``storage.task_rows`` and ``storage.task_queries``; the rules a person is told about (who may,
in which state) are checked by ``services.tasks*`` before these writes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import Series
from core.reminder_schedule import DEFAULT_OFFSETS as DEFAULT_OFFSETS
from core.roles import Role
from core.statuses import ACTIVE as ACTIVE
from core.statuses import OPEN as OPEN
from core.statuses import AssignmentStatus, TaskKind, TaskStatus
from storage import counters
from storage.models import Assignment, Person, Photo, Task
from storage.task_rows import AssignmentDTO as AssignmentDTO
from storage.task_rows import TaskDTO as TaskDTO
from storage.task_rows import assignments_of_task as assignments_of_task
from storage.task_rows import get_assignment as get_assignment
from storage.task_rows import get_task as get_task
from storage.task_rows import lock_assignment as lock_assignment

MAX_TITLE = 200
MAX_BODY = 2000
MAX_EVIDENCE_TEXTS = 20
MAX_EVIDENCE_PHOTOS = 20


# --- assignees --------------------------------------------------------------


async def secretaries_of(session: AsyncSession, village_ids: Sequence[int]) -> dict[int, int]:
    """village id -> its first secretary's person id (the oldest active one), in one query."""
    out: dict[int, int] = {}
    for start in range(0, len(village_ids), 5000):
        rows = await session.execute(
            sa.select(Person.region_id, sa.func.min(Person.id))
            .where(
                Person.region_id.in_(village_ids[start : start + 5000]),
                Person.role == Role.SECRETARY,
                Person.active,
            )
            .group_by(Person.region_id)
        )
        out.update({vid: pid for vid, pid in rows})
    return out


# --- create -----------------------------------------------------------------------------


async def insert_task(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    created_by: int,
    county_id: int,
    now: datetime,
    body: str = "",
    deadline: datetime | None = None,
    reminder_offsets: Sequence[str] = (),
    evidence_required: bool = False,
    scope: Mapping[str, Any] | None = None,
    number: int | None = None,
) -> int:
    """One task row (active); its id. A task or notice takes the county's next ``task``
    number; a rectification item is given its problem's ``number``."""
    if number is None:
        if kind == TaskKind.RECTIFY:
            raise ValueError("a rectification item carries its problem's number")
        number = await counters.next_number(session, county_id, Series.TASK)
    task = Task(
        kind=kind,
        number=number,
        title=title,
        body=body,
        created_by=created_by,
        county_id=county_id,
        deadline=deadline,
        reminder_offsets=list(reminder_offsets),
        evidence_required=evidence_required,
        scope=dict(scope or {}),
        status=TaskStatus.ACTIVE,
        created_at=now,
    )
    session.add(task)
    await session.flush()
    return task.id


async def insert_assignments(
    session: AsyncSession,
    task_id: int,
    assignees: Mapping[int, int | None],
    *,
    deadline: datetime | None,
    now: datetime,
    remind_at: datetime | None = None,
) -> None:
    """One pending assignment per village (``village id -> assignee id or None``), the one
    place assignment rows are built (tasks, notices and rectification items)."""
    rows: list[dict[str, Any]] = [
        {
            "task_id": task_id,
            "village_id": vid,
            "assignee_id": assignee,
            "status": AssignmentStatus.PENDING,
            "deadline": deadline,
            "evidence": {},
            "remind_at": remind_at,
            "created_at": now,
            "updated_at": now,
        }
        for vid, assignee in assignees.items()
    ]
    for start in range(0, len(rows), 2000):
        await session.execute(sa.insert(Assignment), rows[start : start + 2000])


async def create_task(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    created_by: int,
    county_id: int,
    village_ids: Sequence[int],
    now: datetime,
    body: str = "",
    deadline: datetime | None = None,
    reminder_offsets: Sequence[str] | None = None,
    evidence_required: bool = False,
    scope: Mapping[str, Any] | None = None,
    remind_at: datetime | None = None,
) -> tuple[TaskDTO, list[AssignmentDTO]]:
    """A task and one assignment per village (assignee: the village's secretary, or none).
    ``remind_at``: when the reminder scan first needs to look (None: it works it out). The
    rules (a title, a deadline for a task, known villages) are checked by ``services.tasks``."""
    offsets = tuple(reminder_offsets) if reminder_offsets is not None else DEFAULT_OFFSETS
    task_id = await insert_task(
        session,
        kind=kind,
        title=title.strip(),
        body=body,
        created_by=created_by,
        county_id=county_id,
        now=now,
        deadline=deadline,
        reminder_offsets=offsets if deadline else (),
        evidence_required=evidence_required,
        scope=scope,
    )
    assignees = await secretaries_of(session, village_ids)
    await insert_assignments(
        session,
        task_id,
        {vid: assignees.get(vid) for vid in village_ids},
        deadline=deadline,
        now=now,
        remind_at=remind_at,
    )
    task = await get_task(session, task_id)
    assert task is not None
    return task, await assignments_of_task(session, task_id)


# --- transitions ------------------------------------------------------------------------
# Each locks the row and applies the move only when it still applies (``None`` otherwise: a
# concurrent change won). The rules a person is told about are checked by services.tasks.


async def _locked(session: AsyncSession, assignment_id: int) -> Assignment | None:
    row: Assignment | None = await session.scalar(
        sa.select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    )
    return row


def _history(row: Assignment, entry: dict[str, Any]) -> None:
    evidence = dict(row.evidence or {})
    evidence["history"] = [*evidence.get("history", []), entry][-50:]
    row.evidence = evidence


async def _fresh(session: AsyncSession, assignment_id: int) -> AssignmentDTO:
    await session.flush()
    dto = await get_assignment(session, assignment_id)
    assert dto is not None
    return dto


async def ack(
    session: AsyncSession, assignment_id: int, person_id: int, now: datetime
) -> AssignmentDTO | None:
    row = await _locked(session, assignment_id)
    if row is None or row.assignee_id != person_id:
        return None
    if row.status == AssignmentStatus.PENDING:
        row.status = AssignmentStatus.ACKED
        row.acked_at = now
        row.updated_at = now
    return await _fresh(session, assignment_id)


async def submit(
    session: AsyncSession,
    assignment_id: int,
    person_id: int,
    now: datetime,
    *,
    texts: Sequence[str],
    photos: Sequence[int],
) -> AssignmentDTO | None:
    """Hand in the work with evidence (text lines and photo ids), and attach the photos."""
    row = await _locked(session, assignment_id)
    if row is None or row.assignee_id != person_id or row.status not in OPEN:
        return None
    task = await session.get(Task, row.task_id)
    if task is None or task.status != TaskStatus.ACTIVE:
        return None
    photo_ids = list(photos)[:MAX_EVIDENCE_PHOTOS]
    evidence = dict(row.evidence or {})
    evidence["texts"] = [t[:MAX_BODY] for t in texts][:MAX_EVIDENCE_TEXTS]
    evidence["photo_ids"] = photo_ids
    row.evidence = evidence
    _history(row, {"at": now.isoformat(), "by": person_id, "action": "submitted"})
    row.status = AssignmentStatus.SUBMITTED
    row.submitted_at = now
    row.updated_at = now
    row.remind_at = None
    if photo_ids:
        await session.execute(
            sa.update(Photo)
            .where(
                Photo.id.in_(photo_ids),
                Photo.assignment_id.is_(None),
                Photo.problem_id.is_(None),  # a voice note of 整改完成 stays its problem's
            )
            .values(assignment_id=row.id)
        )
    return await _fresh(session, assignment_id)


async def _reviewable(
    session: AsyncSession, assignment_id: int, staff_county_id: int
) -> Assignment | None:
    row = await _locked(session, assignment_id)
    if row is None or row.status != AssignmentStatus.SUBMITTED:
        return None
    task = await session.get(Task, row.task_id)
    return row if task is not None and task.county_id == staff_county_id else None


async def approve(
    session: AsyncSession, assignment_id: int, staff_id: int, staff_county_id: int, now: datetime
) -> AssignmentDTO | None:
    row = await _reviewable(session, assignment_id, staff_county_id)
    if row is None:
        return None
    row.status = AssignmentStatus.APPROVED
    row.closed_at = now
    row.updated_at = now
    row.remind_at = None
    _history(row, {"at": now.isoformat(), "by": staff_id, "action": "approved"})
    return await _fresh(session, assignment_id)


async def return_(
    session: AsyncSession,
    assignment_id: int,
    staff_id: int,
    staff_county_id: int,
    now: datetime,
    *,
    reason: str,
    deadline: datetime,
) -> AssignmentDTO | None:
    """Send the work back with a reason and a new deadline (退回)."""
    row = await _reviewable(session, assignment_id, staff_county_id)
    if row is None:
        return None
    row.status = AssignmentStatus.RETURNED
    row.return_reason = reason[:MAX_BODY]
    row.deadline = deadline
    row.updated_at = now
    row.remind_at = None  # the reminder scan schedules again from the new deadline
    _history(
        row,
        {"at": now.isoformat(), "by": staff_id, "action": "returned", "reason": reason[:200]},
    )
    return await _fresh(session, assignment_id)


async def cancel_task(
    session: AsyncSession, task_id: int, staff_county_id: int, now: datetime
) -> list[int] | None:
    """Withdraw a task; the ids of the assignments that were still active (``None``: no such
    task in that county)."""
    task = await session.get(Task, task_id)
    if task is None or task.county_id != staff_county_id:
        return None
    task.status = TaskStatus.CANCELLED
    ids = list(
        await session.scalars(
            sa.select(Assignment.id).where(
                Assignment.task_id == task_id, Assignment.status.in_(ACTIVE)
            )
        )
    )
    await session.execute(
        sa.update(Assignment)
        .where(Assignment.task_id == task_id, Assignment.status.in_(ACTIVE))
        .values(status=AssignmentStatus.CANCELLED, closed_at=now, updated_at=now, remind_at=None)
    )
    return ids
