"""Tasks sent down from the county (任务/通知), their per-village assignments and evidence.

An assignment is also what a rectification item (整改) becomes: ``Task(kind="rectify")`` with
one assignment to the reporter. Status moves:

    pending -> acked -> submitted -> approved
                  \\-> returned (new deadline) -> submitted ...
    any open status -> cancelled (the task was withdrawn)

"Overdue" is not stored: it is an open assignment whose deadline has passed.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Assignment, Person, Photo, Region, Task

KINDS = ("task", "notice", "rectify")
OPEN = ("pending", "acked", "returned", "overdue")
ACTIVE = (*OPEN, "submitted")
STATUS_ZH = {
    "pending": "未确认",
    "acked": "已收到",
    "returned": "已退回",
    "overdue": "已逾期",
    "submitted": "待审核",
    "approved": "已通过",
    "cancelled": "已撤销",
}
DEFAULT_OFFSETS = ("3d", "1d", "0d")
MAX_TITLE = 200
MAX_BODY = 2000
MAX_EVIDENCE_TEXTS = 20
MAX_EVIDENCE_PHOTOS = 20


class TaskError(ValueError):
    """A rule broken by the request; ``message`` is a short Chinese sentence for the user."""

    def __init__(self, message: str, near: list[str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.near = near or []  # for an unknown region: the names that come close


@dataclass(frozen=True)
class TaskDTO:
    id: int
    kind: str
    title: str
    body: str
    created_by: int
    county_id: int
    deadline: datetime | None
    reminder_offsets: tuple[str, ...]
    evidence_required: bool
    scope: dict[str, Any]
    status: str
    created_at: datetime


@dataclass(frozen=True)
class AssignmentDTO:
    id: int
    task_id: int
    village_id: int
    village_name: str
    assignee_id: int | None
    status: str
    deadline: datetime | None
    task_kind: str
    task_title: str
    task_body: str
    created_by: int
    county_id: int
    evidence_required: bool
    evidence: dict[str, Any] = field(default_factory=dict)
    return_reason: str | None = None
    acked_at: datetime | None = None
    submitted_at: datetime | None = None
    updated_at: datetime | None = None

    def overdue(self, now: datetime) -> bool:
        return self.status in OPEN and self.deadline is not None and self.deadline < now

    @property
    def returns(self) -> int:
        return sum(1 for h in self.evidence.get("history", ()) if h.get("action") == "returned")


def _task(t: Task) -> TaskDTO:
    return TaskDTO(
        t.id,
        t.kind,
        t.title,
        t.body,
        t.created_by,
        t.county_id,
        t.deadline,
        tuple(str(o) for o in (t.reminder_offsets or ())),
        t.evidence_required,
        dict(t.scope or {}),
        t.status,
        t.created_at,
    )


_ASSIGNMENT_COLUMNS = (
    Assignment.id,
    Assignment.task_id,
    Assignment.village_id,
    Region.name,
    Assignment.assignee_id,
    Assignment.status,
    Assignment.deadline,
    Task.kind,
    Task.title,
    Task.body,
    Task.created_by,
    Task.county_id,
    Task.evidence_required,
    Assignment.evidence,
    Assignment.return_reason,
    Assignment.acked_at,
    Assignment.submitted_at,
    Assignment.updated_at,
)


def _assignments_query() -> sa.Select[Any]:
    return (
        sa.select(*_ASSIGNMENT_COLUMNS)
        .join(Task, Task.id == Assignment.task_id)
        .join(Region, Region.id == Assignment.village_id)
    )


def _assignment(row: sa.Row[Any]) -> AssignmentDTO:
    values = list(row)
    values[13] = dict(values[13] or {})
    return AssignmentDTO(*values)


# --- scope ------------------------------------------------------------------------------


async def county_villages(session: AsyncSession, county_id: int) -> list[tuple[int, str, int, str]]:
    """(village id, village name, township id, township name) for every village of a county."""
    town = aliased(Region)
    rows = await session.execute(
        sa.select(Region.id, Region.name, town.id, town.name)
        .join(town, town.id == Region.parent_id)
        .where(town.parent_id == county_id, Region.level == "village")
        .order_by(Region.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


def near_names(name: str, candidates: list[str], limit: int = 5) -> list[str]:
    close = difflib.get_close_matches(name, candidates, n=limit, cutoff=0.3)
    contains = [c for c in candidates if name and (name in c or c in name) and c not in close]
    shared = [c for c in candidates if set(name) & set(c) and c not in close and c not in contains]
    return (close + contains + shared)[:limit]


async def resolve_scope(session: AsyncSession, county_id: int, scope: dict[str, Any]) -> list[int]:
    """Village ids named by ``{"county": true}`` | ``{"townships": [..]}`` | ``{"villages": [..]}``
    (names or ids). Unknown names raise :class:`TaskError` listing the near names."""
    rows = await county_villages(session, county_id)
    if not rows:
        raise TaskError("本县还没有录入任何村。")
    if scope.get("county") or not (scope.get("townships") or scope.get("villages")):
        return [r[0] for r in rows]
    chosen: list[int] = []
    if scope.get("townships"):
        towns = {r[3]: r[2] for r in rows} | {str(r[2]): r[2] for r in rows}
        for name in scope["townships"]:
            key = str(name).strip()
            if key not in towns:
                near = near_names(key, sorted({r[3] for r in rows}))
                hint = f"，您是不是要找：{'、'.join(near)}" if near else ""
                raise TaskError(f"本县没有乡镇「{key}」{hint}。", near)
            chosen += [r[0] for r in rows if r[2] == towns[key]]
    if scope.get("villages"):
        by_name: dict[str, list[int]] = {}
        for r in rows:
            by_name.setdefault(r[1], []).append(r[0])
            by_name.setdefault(f"{r[3]}{r[1]}", []).append(r[0])
            by_name.setdefault(str(r[0]), []).append(r[0])
        for name in scope["villages"]:
            key = str(name).strip().replace("/", "")
            if key not in by_name:
                near = near_names(key, sorted({r[1] for r in rows}))
                hint = f"，相近的村：{'、'.join(near)}" if near else ""
                raise TaskError(f"本县没有「{key}」{hint}。", near)
            if len(by_name[key]) > 1:
                raise TaskError(f"本县有 {len(by_name[key])} 个「{key}」，请写成「乡镇名村名」。")
            chosen += by_name[key]
    return list(dict.fromkeys(chosen))


async def secretaries_of(session: AsyncSession, village_ids: list[int]) -> dict[int, int]:
    """village id -> its first secretary's person id (the oldest active one), in one query."""
    out: dict[int, int] = {}
    for start in range(0, len(village_ids), 5000):
        rows = await session.execute(
            sa.select(Person.region_id, sa.func.min(Person.id))
            .where(
                Person.region_id.in_(village_ids[start : start + 5000]),
                Person.role == "secretary",
                Person.active,
            )
            .group_by(Person.region_id)
        )
        out.update({vid: pid for vid, pid in rows})
    return out


# --- create -----------------------------------------------------------------------------


async def create_task(
    session: AsyncSession,
    *,
    kind: str,
    title: str,
    created_by: int,
    county_id: int,
    village_ids: list[int],
    now: datetime,
    body: str = "",
    deadline: datetime | None = None,
    reminder_offsets: tuple[str, ...] | list[str] | None = None,
    evidence_required: bool = False,
    scope: dict[str, Any] | None = None,
    remind_at: datetime | None = None,
) -> tuple[TaskDTO, list[AssignmentDTO]]:
    """A task and one assignment per village (assignee: the village's secretary, or none).
    ``remind_at``: when the reminder scan first needs to look (None: it works it out)."""
    if kind not in KINDS:
        raise TaskError(f"未知的任务类型：{kind}")
    title = title.strip()
    if not title:
        raise TaskError("任务标题不能为空。")
    if len(title) > MAX_TITLE or len(body) > MAX_BODY:
        raise TaskError(f"标题最多 {MAX_TITLE} 字，内容最多 {MAX_BODY} 字。")
    if kind != "notice" and deadline is None:
        raise TaskError("任务需要截止时间。")
    if not village_ids:
        raise TaskError("没有选中任何村。")
    offsets = tuple(reminder_offsets) if reminder_offsets is not None else DEFAULT_OFFSETS
    task = Task(
        kind=kind,
        title=title,
        body=body,
        created_by=created_by,
        county_id=county_id,
        deadline=deadline,
        reminder_offsets=list(offsets) if deadline else [],
        evidence_required=evidence_required,
        scope=scope or {},
        status="active",
        created_at=now,
    )
    session.add(task)
    await session.flush()
    assignees = await secretaries_of(session, village_ids)
    rows = [
        {
            "task_id": task.id,
            "village_id": vid,
            "assignee_id": assignees.get(vid),
            "status": "pending",
            "deadline": deadline,
            "evidence": {},
            "remind_at": remind_at,
            "created_at": now,
            "updated_at": now,
        }
        for vid in village_ids
    ]
    for start in range(0, len(rows), 2000):
        await session.execute(sa.insert(Assignment), rows[start : start + 2000])
    return _task(task), await assignments_of_task(session, task.id)


# --- read -------------------------------------------------------------------------------


async def get_task(session: AsyncSession, task_id: int) -> TaskDTO | None:
    t = await session.get(Task, task_id)
    return _task(t) if t else None


async def get_assignment(session: AsyncSession, assignment_id: int) -> AssignmentDTO | None:
    row = (
        await session.execute(_assignments_query().where(Assignment.id == assignment_id))
    ).first()
    return _assignment(row) if row else None


async def assignments_of_task(session: AsyncSession, task_id: int) -> list[AssignmentDTO]:
    rows = await session.execute(
        _assignments_query().where(Assignment.task_id == task_id).order_by(Assignment.id)
    )
    return [_assignment(r) for r in rows]


async def open_for_person(
    session: AsyncSession, person_id: int, limit: int = 200
) -> list[AssignmentDTO]:
    """A secretary's active assignments, earliest deadline first (notices last)."""
    rows = await session.execute(
        _assignments_query()
        .where(
            Assignment.assignee_id == person_id,
            Assignment.status.in_(ACTIVE),
            Task.status == "active",
        )
        .order_by(Assignment.deadline.is_(None), Assignment.deadline, Assignment.id)
        .limit(limit)
    )
    return [_assignment(r) for r in rows]


async def awaiting_review(
    session: AsyncSession, county_id: int, limit: int = 200
) -> list[AssignmentDTO]:
    rows = await session.execute(
        _assignments_query()
        .where(Task.county_id == county_id, Assignment.status == "submitted")
        .order_by(Assignment.submitted_at, Assignment.id)
        .limit(limit)
    )
    return [_assignment(r) for r in rows]


async def tasks_of_county(session: AsyncSession, county_id: int, limit: int = 50) -> list[TaskDTO]:
    rows = await session.scalars(
        sa.select(Task)
        .where(Task.county_id == county_id, Task.status == "active", Task.kind != "rectify")
        .order_by(Task.id.desc())
        .limit(limit)
    )
    return [_task(t) for t in rows]


async def status_counts(session: AsyncSession, task_ids: list[int]) -> dict[int, dict[str, int]]:
    """task id -> {status: count}, for many tasks in one query."""
    out: dict[int, dict[str, int]] = {t: {} for t in task_ids}
    if not task_ids:
        return out
    rows = await session.execute(
        sa.select(Assignment.task_id, Assignment.status, sa.func.count())
        .where(Assignment.task_id.in_(task_ids))
        .group_by(Assignment.task_id, Assignment.status)
    )
    for tid, status, n in rows:
        out[tid][status] = n
    return out


# --- transitions ------------------------------------------------------------------------


async def _locked(session: AsyncSession, assignment_id: int) -> Assignment:
    row = await session.scalar(
        sa.select(Assignment).where(Assignment.id == assignment_id).with_for_update()
    )
    if row is None:
        raise TaskError(f"没有编号为 {assignment_id} 的任务。")
    return row


def _history(row: Assignment, entry: dict[str, Any]) -> None:
    evidence = dict(row.evidence or {})
    evidence["history"] = [*evidence.get("history", []), entry][-50:]
    row.evidence = evidence


async def ack(
    session: AsyncSession, assignment_id: int, person_id: int, now: datetime
) -> AssignmentDTO:
    row = await _locked(session, assignment_id)
    if row.assignee_id != person_id:
        raise TaskError("这不是派给您的任务，不能确认。")
    if row.status == "pending":
        row.status = "acked"
        row.acked_at = now
        row.updated_at = now
        await session.flush()
    dto = await get_assignment(session, assignment_id)
    assert dto is not None
    return dto


async def submit(
    session: AsyncSession,
    assignment_id: int,
    person_id: int,
    now: datetime,
    *,
    texts: list[str],
    photos: list[str],
) -> AssignmentDTO:
    """Hand in the work with evidence (text lines and photo SHA-256s)."""
    row = await _locked(session, assignment_id)
    if row.assignee_id != person_id:
        raise TaskError("这不是派给您的任务，不能提交。")
    task = await session.get(Task, row.task_id)
    assert task is not None
    if task.status != "active" or row.status not in OPEN:
        raise TaskError(f"这项任务现在是「{STATUS_ZH.get(row.status, row.status)}」，不需要提交。")
    if task.evidence_required and not (texts or photos):
        raise TaskError("这项任务需要提交材料：请发文字说明或照片。")
    evidence = dict(row.evidence or {})
    evidence["texts"] = [t[:MAX_BODY] for t in texts][:MAX_EVIDENCE_TEXTS]
    evidence["photos"] = photos[:MAX_EVIDENCE_PHOTOS]
    row.evidence = evidence
    _history(row, {"at": now.isoformat(), "by": person_id, "action": "submitted"})
    row.status = "submitted"
    row.submitted_at = now
    row.updated_at = now
    row.remind_at = None
    if photos:
        await session.execute(
            sa.update(Photo)
            .where(Photo.sha256.in_(photos), Photo.assignment_id.is_(None))
            .values(assignment_id=row.id)
        )
    await session.flush()
    dto = await get_assignment(session, assignment_id)
    assert dto is not None
    return dto


async def _review(
    session: AsyncSession, assignment_id: int, staff_county_id: int
) -> tuple[Assignment, Task]:
    row = await _locked(session, assignment_id)
    task = await session.get(Task, row.task_id)
    assert task is not None
    if task.county_id != staff_county_id:
        raise TaskError("这不是本县的任务，不能审核。")
    if row.status != "submitted":
        raise TaskError(
            f"编号 {assignment_id} 现在是「{STATUS_ZH.get(row.status, row.status)}」，"
            "只有待审核的任务可以通过或退回。"
        )
    return row, task


async def approve(
    session: AsyncSession, assignment_id: int, staff_id: int, staff_county_id: int, now: datetime
) -> AssignmentDTO:
    row, _task_row = await _review(session, assignment_id, staff_county_id)
    row.status = "approved"
    row.closed_at = now
    row.updated_at = now
    row.remind_at = None
    _history(row, {"at": now.isoformat(), "by": staff_id, "action": "approved"})
    await session.flush()
    dto = await get_assignment(session, assignment_id)
    assert dto is not None
    return dto


async def return_(
    session: AsyncSession,
    assignment_id: int,
    staff_id: int,
    staff_county_id: int,
    now: datetime,
    *,
    reason: str,
    deadline: datetime,
) -> AssignmentDTO:
    """Send the work back with a reason and a new deadline (退回)."""
    row, _task_row = await _review(session, assignment_id, staff_county_id)
    row.status = "returned"
    row.return_reason = reason[:MAX_BODY]
    row.deadline = deadline
    row.updated_at = now
    row.remind_at = None  # the reminder scan schedules again from the new deadline
    _history(
        row,
        {"at": now.isoformat(), "by": staff_id, "action": "returned", "reason": reason[:200]},
    )
    await session.flush()
    dto = await get_assignment(session, assignment_id)
    assert dto is not None
    return dto


async def cancel_task(
    session: AsyncSession, task_id: int, staff_county_id: int, now: datetime
) -> list[int]:
    """Withdraw a task; returns the ids of the assignments that were still active."""
    task = await session.get(Task, task_id)
    if task is None or task.county_id != staff_county_id:
        raise TaskError(f"没有编号为 {task_id} 的本县任务。")
    task.status = "cancelled"
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
        .values(status="cancelled", closed_at=now, updated_at=now, remind_at=None)
    )
    return ids
