"""Task use cases of the county: send a task or a notice down to villages, and follow it.

``create_task`` is the one way a task comes to exist, whether typed in the chat (发任务) or
posted to the JSON API: it checks the sender is county staff, checks the draft, resolves the
scope to the county's villages, writes the task and one assignment per village (with the first
reminder time already worked out), queues a push to every village and writes the audit row.

Review (通过 / 退回 / 撤销) lives in ``services.task_review`` and the village side (收到,
提交) in ``services.task_work``; the messages they send in ``services.task_pushes``.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.errors import Invalid, NotFound, Refused
from core.reminder_schedule import DEFAULT_OFFSETS, first_remind_at, valid_offset
from core.roles import COUNTY_ROLES, Level, Role
from core.rules import Rules
from core.statuses import TaskKind
from services import scope
from services import task_texts as T
from services.attachments import Batch, attach
from services.media_store import MediaStore
from services.task_pushes import publish
from services.task_scope import resolve_scope
from storage import audit, regions, task_queries, task_rows
from storage import tasks as store
from storage.people import PersonDTO
from storage.session import AsyncSession
from storage.tasks import MAX_BODY, MAX_TITLE, AssignmentDTO, TaskDTO

log = logging.getLogger(__name__)

SENDABLE = (TaskKind.TASK, TaskKind.NOTICE)


@dataclass(frozen=True)
class TaskDraft:
    """What the sender asked for, already parsed (a deadline is a datetime, a scope a dict)."""

    kind: str
    title: str
    body: str = ""
    deadline: datetime | None = None
    scope: Mapping[str, Any] = field(default_factory=lambda: {"county": True})
    evidence_required: bool = False
    reminder_offsets: tuple[str, ...] = DEFAULT_OFFSETS
    # Files uploaded on the console form (附件), checked and staged (services.attachments).
    attachments: Batch | None = None


@dataclass(frozen=True)
class Created:
    task: TaskDTO
    items: tuple[AssignmentDTO, ...]

    @property
    def unassigned(self) -> list[str]:
        """Villages with no secretary: nobody receives the push yet."""
        return [i.village_name for i in self.items if i.assignee_id is None]


@dataclass(frozen=True)
class TaskCounts:
    task: TaskDTO
    counts: Mapping[str, int]  # assignment status -> how many


@dataclass(frozen=True)
class Progress:
    task: TaskDTO
    items: tuple[AssignmentDTO, ...]


def is_county_staff(me: PersonDTO) -> bool:
    return scope.has_role(me, COUNTY_ROLES) and me.region_level == Level.COUNTY


def is_township_staff(me: PersonDTO) -> bool:
    return me.role == Role.TOWNSHIP_STAFF and me.region_level == Level.TOWNSHIP


def is_dispatcher(me: PersonDTO) -> bool:
    """County staff (the whole county) or township staff (their own township's villages)."""
    return is_county_staff(me) or is_township_staff(me)


def require_dispatcher(me: PersonDTO) -> None:
    if not is_dispatcher(me):
        raise Refused(T.DISPATCH_ONLY)


async def county_id_of(session: AsyncSession, me: PersonDTO) -> int:
    """The county a dispatcher works in (their region, or their township's county)."""
    if is_county_staff(me):
        return me.region_id
    county = await regions.county_of(session, me.region_id)
    if county is None:
        raise Refused(T.DISPATCH_ONLY)
    return county.id


async def require_task_reviewer(session: AsyncSession, me: PersonDTO, task: TaskDTO) -> int:
    """County staff review all of their county's tasks, township staff those their township
    sent; another's is answered like an unknown one. Returns the task's county id."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    if task.county_id != county_id:
        raise NotFound(T.NO_SUCH_TASK.format(n=task.number))
    if is_township_staff(me) and not await task_queries.created_within(
        session, task.id, me.region_id
    ):
        raise NotFound(T.NO_SUCH_TASK.format(n=task.number))
    return county_id


async def reviewable_task(session: AsyncSession, me: PersonDTO, number: int) -> TaskDTO:
    """Task (or notice) ``number`` of the dispatcher's county, if ``me`` may follow and review
    it (see require_task_reviewer); an unknown or another's number gets the same answer."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    task = await task_rows.task_by_number(session, county_id, number)
    if task is None:
        raise NotFound(T.NO_SUCH_TASK.format(n=number))
    await require_task_reviewer(session, me, task)
    return task


def _creator_region(me: PersonDTO) -> int | None:
    """Lists of a township officer hold the tasks created within their township."""
    return me.region_id if is_township_staff(me) else None


def require_county_staff(me: PersonDTO) -> None:
    """Only staff of a county send, review and withdraw tasks (of their own county)."""
    if not is_county_staff(me):
        raise Refused(T.COUNTY_ONLY)


def check_draft(draft: TaskDraft) -> None:
    """The rules a draft must meet before anything is written."""
    if draft.kind not in SENDABLE:
        raise Invalid(T.UNKNOWN_KIND.format(kind=draft.kind), field="kind")
    if not draft.title.strip():
        raise Invalid(T.EMPTY_TITLE, field="title")
    if len(draft.title.strip()) > MAX_TITLE or len(draft.body) > MAX_BODY:
        raise Invalid(T.TOO_LONG.format(title=MAX_TITLE, body=MAX_BODY), field="title")
    if draft.kind == TaskKind.TASK and draft.deadline is None:
        raise Invalid(T.NEEDS_DEADLINE, field="deadline")
    if not all(valid_offset(o) for o in draft.reminder_offsets):
        raise Invalid(T.BAD_OFFSETS, field="reminder_offsets")


async def preview_villages(
    session: AsyncSession, me: PersonDTO, scope: Mapping[str, Any]
) -> list[tuple[int, str, int, str]]:
    """The villages ``scope`` names for this sender, as (village id, name, township id,
    township name), resolved exactly as :func:`create_task` resolves them; nothing is written."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    village_ids = await resolve_scope(session, county_id, scope, township_id=_creator_region(me))
    if not village_ids:
        raise Invalid(T.NO_VILLAGES_CHOSEN, field="scope")
    chosen = set(village_ids)
    return [r for r in await task_queries.county_villages(session, county_id) if r[0] in chosen]


async def create_task(
    session: AsyncSession,
    me: PersonDTO,
    draft: TaskDraft,
    *,
    now: datetime,
    rules: Rules,
    via: str | None = None,
    media: MediaStore | None = None,
) -> Created:
    """Send a task or notice to the villages of ``draft.scope`` (see the module docstring).
    ``via`` names the entry point in the audit row (``"api"``); ``media``: where the draft's
    attachments are stored (needed when it has any)."""
    require_dispatcher(me)
    check_draft(draft)
    county_id = await county_id_of(session, me)
    village_ids = await resolve_scope(
        session, county_id, draft.scope, township_id=_creator_region(me)
    )
    if not village_ids:
        raise Invalid(T.NO_VILLAGES_CHOSEN, field="scope")
    task, items = await store.create_task(
        session,
        kind=draft.kind,
        title=draft.title,
        body=draft.body,
        created_by=me.id,
        county_id=county_id,
        village_ids=village_ids,
        now=now,
        deadline=draft.deadline,
        reminder_offsets=draft.reminder_offsets,
        evidence_required=draft.evidence_required,
        scope=dict(draft.scope),
        remind_at=first_remind_at(draft.deadline, draft.reminder_offsets, rules, now),
    )
    files = []
    if draft.attachments is not None:
        if media is None:
            raise ValueError("a draft with attachments needs the media store")
        files = await attach(
            session, task.id, draft.attachments, store=media, person_id=me.id, now=now
        )
    await publish(session, task, items, now, rules, files)
    detail: dict[str, Any] = {"villages": len(items), "kind": task.kind}
    if files:
        detail["files"] = len(files)
    if via:
        detail["via"] = via
    detail["number"] = task.number
    await audit.log(
        session, at=now, person_id=me.id, action="task.create", obj=f"task:{task.id}", detail=detail
    )
    log.info("task created task=%s person=%s villages=%d", task.id, me.id, len(items))
    return Created(task, tuple(items))


# --- reads -------------------------------------------------------------------------------


async def open_items(session: AsyncSession, me: PersonDTO) -> list[AssignmentDTO]:
    """The person's own open and submitted items, earliest deadline first."""
    return await task_queries.open_for_person(session, me.id)


async def awaiting_review(session: AsyncSession, me: PersonDTO) -> list[AssignmentDTO]:
    """Submissions of the staff member's county (or of the tasks their township sent) waiting
    for 通过 or 退回."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    return await task_queries.awaiting_review(session, county_id, _creator_region(me))


async def county_tasks(session: AsyncSession, me: PersonDTO) -> list[TaskCounts]:
    """The county's active tasks and notices (a township's: those it sent), newest first,
    with their status counts."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    tasks = await task_queries.tasks_of_county(session, county_id, _creator_region(me))
    counts = await task_queries.status_counts(session, [t.id for t in tasks])
    return [TaskCounts(t, counts[t.id]) for t in tasks]


async def task_progress(session: AsyncSession, me: PersonDTO, number: int) -> Progress:
    """Task ``number`` of the staff member's county and its share per village. Another
    county's (or township's) task is answered like an unknown one: no oracle."""
    task = await reviewable_task(session, me, number)
    return Progress(task, tuple(await store.assignments_of_task(session, task.id)))


def status_tally(items: Sequence[AssignmentDTO]) -> dict[str, int]:
    """assignment status -> how many, in the order statuses first appear."""
    counts: dict[str, int] = {}
    for i in items:
        counts[i.status] = counts.get(i.status, 0) + 1
    return counts
