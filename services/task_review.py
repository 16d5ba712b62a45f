"""Dispatchers review what villages hand in (通过 / 退回) and county staff withdraw tasks
(撤销任务), naming the task by its public number and the village by name: "task 3 for 石门村".

Review is allowed to county staff on their county's tasks and to township staff on the tasks
their township sent; a task is withdrawn only by its creator or a county admin. A review drops
the item's pending reminders (an approval) or lets the scan schedule a fresh round from the new
deadline (a return), tells the village, and writes the audit row.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime

from core import keys
from core.errors import Conflict, Invalid, NotFound, Refused
from core.messages import Reply
from core.roles import Role
from core.rules import Rules
from core.statuses import AssignmentStatus, TaskStatus
from services import pushes
from services import task_texts as T
from services.task_pushes import tell_approved, tell_returned
from services.task_scope import near_names
from services.task_work import status_zh
from services.tasks import (
    county_id_of,
    is_township_staff,
    require_dispatcher,
    reviewable_task,
)
from storage import audit, outbox_cancel, task_queries, task_rows
from storage import tasks as store
from storage.people import PersonDTO
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO, TaskDTO

log = logging.getLogger(__name__)

MAX_REASON = 500


@dataclass(frozen=True)
class Cancelled:
    task: TaskDTO
    assignment_ids: tuple[int, ...]  # the ones that were still active


@dataclass(frozen=True)
class Waiting:
    """Task ``number``'s submissions the reviewer may act on (one, when a village was named)."""

    task: TaskDTO
    items: tuple[AssignmentDTO, ...]


async def waiting_on(
    session: AsyncSession, me: PersonDTO, number: int, text: str = "", *, strict: bool = False
) -> tuple[Waiting, str]:
    """What waits for review on task ``number``, and the rest of ``text``. When ``text``
    starts with a village of the task (``石门村`` or ``东岭镇石门村``): that village's item
    whatever its state (so 通过 / 退回 answer its real state); otherwise every village's
    submission, and ``text`` whole (the reason of a 退回). ``strict`` (通过): text that names
    no village of the task is refused with the names it was sent to, never taken as "the only
    one waiting". An unknown or another's task answers like an unknown number."""
    task = await reviewable_task(session, me, number)
    items = await store.assignments_of_task(session, task.id)
    first, rest = _first_word(text)
    named = await _named(session, task, items, first) if first else []
    if len(named) > 1:
        raise Invalid(T.TWO_SUCH_VILLAGES.format(n=task.number, count=len(named), name=first))
    if named:
        return Waiting(task, (named[0],)), rest
    if strict and first:
        near = near_names(first, sorted({i.village_name for i in items}))
        hint = T.NOT_SENT_TO_HINT.format(names="、".join(near)) if near else ""
        raise Invalid(T.NOT_SENT_TO.format(n=task.number, name=first[:20], hint=hint))
    submitted = tuple(i for i in items if i.status == AssignmentStatus.SUBMITTED)
    return Waiting(task, submitted), text.strip()


def _first_word(text: str) -> tuple[str, str]:
    """``石门村 照片不清`` / ``石门村：照片不清`` -> ("石门村", "照片不清")."""
    parts = re.split(r"[\s:：,，;；]+", text.strip(), maxsplit=1)
    return parts[0], (parts[1] if len(parts) > 1 else "").strip()


async def _named(
    session: AsyncSession, task: TaskDTO, items: list[AssignmentDTO], name: str
) -> list[AssignmentDTO]:
    """The task's items whose village is called ``name`` (alone, or after its township)."""
    sent = {i.village_id: i for i in items}
    key = name.replace("/", "")
    return [
        sent[vid]
        for vid, vname, _tid, tname in await task_queries.county_villages(session, task.county_id)
        if vid in sent and key in (vname, f"{tname}{vname}")
    ]


async def _reviewable(
    session: AsyncSession, me: PersonDTO, number: int, village_id: int
) -> tuple[TaskDTO, AssignmentDTO]:
    """Task ``number``'s item for ``village_id``, locked, when ``me`` may review it now."""
    task = await reviewable_task(session, me, number)
    found = await task_rows.assignment_for(session, task.id, village_id)
    item = await store.lock_assignment(session, found.id) if found is not None else None
    if item is None:  # a forged village: like an unknown number, no oracle
        raise NotFound(T.NO_SUCH_TASK.format(n=number))
    if item.status != AssignmentStatus.SUBMITTED:
        raise Conflict(
            T.NOT_REVIEWABLE.format(
                ref=item.ref, village=item.village_name, status=status_zh(item.status)
            )
        )
    return task, item


async def approve(
    session: AsyncSession,
    me: PersonDTO,
    number: int,
    village_id: int,
    *,
    now: datetime,
    rules: Rules,
) -> AssignmentDTO:
    """通过 (task ``number`` for one village): the item is done; its reminders stop and the
    village is told."""
    task, found = await _reviewable(session, me, number, village_id)
    item = await store.approve(session, found.id, me.id, task.county_id, now)
    if item is None:
        raise Conflict(T.CHANGED_MEANWHILE.format(ref=found.ref))
    await outbox_cancel.cancel_reminders(session, [item.id])
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="task.approve",
        obj=f"assignment:{item.id}",
        detail={"task": number, "village": item.village_name},
    )
    await tell_approved(session, item, now=now, rules=rules)
    return item


async def return_(
    session: AsyncSession,
    me: PersonDTO,
    number: int,
    village_id: int,
    *,
    reason: str,
    deadline: datetime,
    now: datetime,
    rules: Rules,
) -> AssignmentDTO:
    """退回 (task ``number`` for one village): back with a reason and a new deadline."""
    task, found = await _reviewable(session, me, number, village_id)
    item = await store.return_(
        session,
        found.id,
        me.id,
        task.county_id,
        now,
        reason=reason[:MAX_REASON],
        deadline=deadline,
    )
    if item is None:
        raise Conflict(T.CHANGED_MEANWHILE.format(ref=found.ref))
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="task.return",
        obj=f"assignment:{item.id}",
        detail={"task": number, "village": item.village_name, "reason": reason[:200]},
    )
    await tell_returned(session, item, reason, now=now, rules=rules)
    return item


async def cancellable(session: AsyncSession, me: PersonDTO, number: int) -> TaskDTO:
    """Task ``number`` if ``me`` may withdraw it: its creator (county or township staff), or
    a county admin (any of their county's). A township officer asking for a task someone else
    sent gets the unknown-number answer: they may not even see most of those."""
    require_dispatcher(me)
    county_id = await county_id_of(session, me)
    task = await task_rows.task_by_number(session, county_id, number)
    if task is None:  # another county's number is simply not found: no oracle
        raise NotFound(T.NO_SUCH_COUNTY_TASK.format(n=number))
    if task.created_by != me.id and me.role != Role.ADMIN:
        if is_township_staff(me):
            raise NotFound(T.NO_SUCH_COUNTY_TASK.format(n=number))
        raise Refused(T.NOT_YOURS_TO_CANCEL.format(title=task.title))
    if task.status == TaskStatus.CANCELLED:
        raise Conflict(T.ALREADY_CANCELLED.format(title=task.title))
    return task


async def cancel_task(
    session: AsyncSession, me: PersonDTO, number: int, *, now: datetime, rules: Rules
) -> Cancelled:
    """撤销任务 (confirmed): every still-active item is cancelled, its pending push and
    reminders dropped, every village that had received it told, and the creator told when
    someone else withdrew it."""
    task = await cancellable(session, me, number)
    task_id = task.id
    ids = await store.cancel_task(session, task_id, task.county_id, now)
    if ids is None:
        raise NotFound(T.NO_SUCH_COUNTY_TASK.format(n=number))
    await outbox_cancel.cancel_reminders(session, ids)
    await outbox_cancel.cancel_pushes(session, ids)
    told = await _tell_villages(session, task, ids, now=now, rules=rules)
    if task.created_by != me.id:
        text = T.PUSH_CANCELLED_CREATOR.format(
            title=task.title, ref=task.ref, who=me.name, n=len(ids)
        )
        await pushes.push(
            session,
            to=task.created_by,
            reply=Reply(text),
            key=keys.task_cancelled_creator(task_id),
            now=now,
            rules=rules,
            respect_quiet_hours=True,
        )
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="task.cancel",
        obj=f"task:{task_id}",
        detail={"number": task.number, "assignments": len(ids), "told": told},
    )
    log.info("task cancelled task=%s person=%s assignments=%d", task_id, me.id, len(ids))
    return Cancelled(task, tuple(ids))


async def _tell_villages(
    session: AsyncSession, task: TaskDTO, ids: list[int], *, now: datetime, rules: Rules
) -> int:
    """``任务「…」已撤销，无需办理`` to each village whose push had gone out; how many."""
    received = await outbox_cancel.pushed(session, ids)
    items = [
        i
        for i in await store.assignments_of_task(session, task.id)
        if i.id in received and i.assignee_id is not None
    ]
    for item in items:
        assert item.assignee_id is not None
        await pushes.push(
            session,
            to=item.assignee_id,
            reply=Reply(T.PUSH_CANCELLED.format(title=task.title, ref=task.ref)),
            key=keys.task_cancelled(item.id),
            now=now,
            rules=rules,
            respect_quiet_hours=True,
        )
    return len(items)
