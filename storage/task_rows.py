"""Task and assignment rows as frozen DTOs, and the lookups by id every other task module
builds on (one column list, so every reader maps a row the same way)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import TASK_KINDS_OF, Series, task_ref
from core.statuses import OPEN
from storage.models import Assignment, Region, Task


def returns_in(evidence: Mapping[str, Any] | None) -> int:
    """How many times an assignment was returned (退回), from its evidence history: the round
    of its reminder and notice keys."""
    history = (evidence or {}).get("history", ())
    return sum(1 for h in history if h.get("action") == "returned")


@dataclass(frozen=True)
class TaskDTO:
    """A task, notice or rectification item (``ref``: how it is named to a person)."""

    id: int
    number: int  # the public number (core.numbers): what every person sees and types
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

    @property
    def ref(self) -> str:
        return task_ref(self.kind, self.number)


@dataclass(frozen=True)
class AssignmentDTO:
    """One village's share of a task: "task {task_number} for {village_name}" to a person
    (``id`` is internal and never shown)."""

    id: int
    task_id: int
    task_number: int
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
        return returns_in(self.evidence)

    @property
    def ref(self) -> str:
        """``任务 3`` / ``通知 3`` / ``问题 5``: how the item is named to a person."""
        return task_ref(self.task_kind, self.task_number)

    @property
    def photo_ids(self) -> list[int]:
        """The photos handed in (the same ``photo_ids`` a rectification keeps)."""
        return [int(p) for p in self.evidence.get("photo_ids", ())]


def task_dto(t: Task) -> TaskDTO:
    return TaskDTO(
        t.id,
        t.number,
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
    Task.number,
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


_EVIDENCE = next(i for i, c in enumerate(_ASSIGNMENT_COLUMNS) if c is Assignment.evidence)


def assignments_query() -> sa.Select[Any]:
    return (
        sa.select(*_ASSIGNMENT_COLUMNS)
        .join(Task, Task.id == Assignment.task_id)
        .join(Region, Region.id == Assignment.village_id)
    )


def assignment_dto(row: sa.Row[Any]) -> AssignmentDTO:
    values = list(row)
    values[_EVIDENCE] = dict(values[_EVIDENCE] or {})
    return AssignmentDTO(*values)


async def get_task(session: AsyncSession, task_id: int) -> TaskDTO | None:
    t = await session.get(Task, task_id)
    return task_dto(t) if t else None


async def get_assignment(session: AsyncSession, assignment_id: int) -> AssignmentDTO | None:
    row = (await session.execute(assignments_query().where(Assignment.id == assignment_id))).first()
    return assignment_dto(row) if row else None


async def lock_assignment(session: AsyncSession, assignment_id: int) -> AssignmentDTO | None:
    """The assignment, its row locked for the rest of the transaction (PostgreSQL; SQLite
    serializes writers at BEGIN)."""
    found = await session.scalar(
        sa.select(Assignment.id).where(Assignment.id == assignment_id).with_for_update()
    )
    return None if found is None else await get_assignment(session, assignment_id)


async def assignments_of_task(session: AsyncSession, task_id: int) -> list[AssignmentDTO]:
    rows = await session.execute(
        assignments_query().where(Assignment.task_id == task_id).order_by(Assignment.id)
    )
    return [assignment_dto(r) for r in rows]


# --- by public number (core.numbers): what a person types or a button carries ----------------


def _numbered(county_id: int, series: Series, number: int) -> tuple[sa.ColumnElement[bool], ...]:
    return (
        Task.county_id == county_id,
        Task.kind.in_(TASK_KINDS_OF[series]),
        Task.number == number,
    )


async def task_by_number(
    session: AsyncSession, county_id: int, number: int, series: Series = Series.TASK
) -> TaskDTO | None:
    """The county's task (or notice) ``number``; with ``Series.PROBLEM``, the rectification
    item of problem ``number``."""
    t = await session.scalar(sa.select(Task).where(*_numbered(county_id, series, number)))
    return task_dto(t) if t else None


async def item_by_number(
    session: AsyncSession, county_id: int, series: Series, number: int, assignee_id: int
) -> AssignmentDTO | None:
    """The person's own share of the county's task ``number`` ("task 3 for 石门村")."""
    row = (
        await session.execute(
            assignments_query()
            .where(*_numbered(county_id, series, number), Assignment.assignee_id == assignee_id)
            .order_by(Assignment.id.desc())
            .limit(1)
        )
    ).first()
    return assignment_dto(row) if row else None


async def assignment_for(
    session: AsyncSession, task_id: int, village_id: int
) -> AssignmentDTO | None:
    """The task's share for one village."""
    row = (
        await session.execute(
            assignments_query().where(
                Assignment.task_id == task_id, Assignment.village_id == village_id
            )
        )
    ).first()
    return assignment_dto(row) if row else None
