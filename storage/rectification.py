"""Rectification (整改) after the fix: 整改完成 with its photo puts a problem up for review
(待复核); township or county staff approve it (closed: only then does it count as cleared,
整改清零) or return it (open again, with a reason and a new deadline). A problem and its
rectification assignment change together, in the caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.statuses import AssignmentStatus, ProblemStatus, TaskStatus
from storage.models import Assignment, Photo, Problem, Region, Task
from storage.problems import ProblemDTO, problem_dto, problems_query

MAX_REASON = 500


@dataclass(frozen=True)
class ReviewItem:
    """A fixed problem waiting for review, with the photos of the visit that found it
    (before) and those handed in with 整改完成 (after): paths under the media directory."""

    problem: ProblemDTO
    village_name: str
    assignee_id: int | None
    submitted_at: datetime | None
    before: tuple[str, ...]
    after: tuple[str, ...]


async def _locked(session: AsyncSession, problem_id: int) -> Problem | None:
    found: Problem | None = await session.scalar(
        sa.select(Problem).where(Problem.id == problem_id).with_for_update()
    )
    return found


async def submit_fix(session: AsyncSession, problem_id: int, photo_id: int, now: datetime) -> bool:
    """整改完成: the open problem waits for review, its assignment is handed in with the photo
    (attached to it when the photo is not attached elsewhere). False when not open."""
    p = await _locked(session, problem_id)
    if p is None or p.status != ProblemStatus.OPEN:
        return False
    p.status = ProblemStatus.REVIEW
    if p.assignment_id:
        a = await session.get_one(Assignment, p.assignment_id)
        a.status, a.submitted_at, a.updated_at, a.remind_at = (
            AssignmentStatus.SUBMITTED,
            now,
            now,
            None,
        )
        a.evidence = {**(a.evidence or {}), "photo_ids": [photo_id]}
        await session.execute(
            sa.update(Photo)
            .where(Photo.id == photo_id, Photo.assignment_id.is_(None), Photo.visit_id.is_(None))
            .values(assignment_id=a.id)
        )
    await session.flush()
    return True


async def approve_fix(session: AsyncSession, problem_id: int, now: datetime) -> bool:
    """复核通过: closed (cleared), its assignment approved and its task closed."""
    p = await _locked(session, problem_id)
    if p is None or p.status != ProblemStatus.REVIEW:
        return False
    p.status, p.closed_at = ProblemStatus.CLOSED, now
    if p.assignment_id:
        a = await session.get_one(Assignment, p.assignment_id)
        a.status, a.closed_at, a.updated_at, a.remind_at = (
            AssignmentStatus.APPROVED,
            now,
            now,
            None,
        )
        t = await session.get_one(Task, a.task_id)
        t.status = TaskStatus.CLOSED
    await session.flush()
    return True


async def return_fix(
    session: AsyncSession, problem_id: int, now: datetime, *, reason: str, deadline: datetime
) -> bool:
    """复核退回: open again, its assignment returned with the reason and a new deadline (the
    reminder scan schedules from it)."""
    p = await _locked(session, problem_id)
    if p is None or p.status != ProblemStatus.REVIEW:
        return False
    p.status = ProblemStatus.OPEN
    if p.assignment_id:
        a = await session.get_one(Assignment, p.assignment_id)
        a.status, a.return_reason, a.deadline = (
            AssignmentStatus.RETURNED,
            reason[:MAX_REASON],
            deadline,
        )
        a.updated_at, a.remind_at = now, None
    await session.flush()
    return True


async def _paths(session: AsyncSession, where: sa.ColumnElement[bool]) -> tuple[str, ...]:
    rows = await session.scalars(
        sa.select(Photo.path).where(where, Photo.kind == "photo").order_by(Photo.id).limit(9)
    )
    return tuple(rows)


async def _item(session: AsyncSession, problem: ProblemDTO) -> ReviewItem:
    village = await session.scalar(sa.select(Region.name).where(Region.id == problem.village_id))
    assignee, submitted, after_ids = None, None, []
    if problem.assignment_id:
        a = await session.get_one(Assignment, problem.assignment_id)
        assignee, submitted = a.assignee_id, a.submitted_at
        after_ids = [int(i) for i in (a.evidence or {}).get("photo_ids") or []]
    before = await _paths(session, Photo.visit_id == problem.visit_id) if problem.visit_id else ()
    after = await _paths(session, Photo.id.in_(after_ids)) if after_ids else ()
    return ReviewItem(problem, village or "", assignee, submitted, before, after)


async def review_item(session: AsyncSession, problem_id: int) -> ReviewItem | None:
    row = (await session.execute(problems_query().where(Problem.id == problem_id))).first()
    return await _item(session, problem_dto(row)) if row else None


async def awaiting_review(
    session: AsyncSession, village_ids: list[int], limit: int = 20
) -> tuple[list[ReviewItem], int]:
    """Fixed problems of these villages waiting for review, oldest first, and how many."""
    where = [Problem.village_id.in_(village_ids), Problem.status == ProblemStatus.REVIEW]
    total = await session.scalar(sa.select(sa.func.count()).select_from(Problem).where(*where))
    rows = await session.execute(problems_query().where(*where).order_by(Problem.id).limit(limit))
    return [await _item(session, problem_dto(r)) for r in rows], int(total or 0)
