"""County staff review what villages hand in (通过 / 退回) and withdraw tasks (撤销任务).

Each is allowed only to county staff, and only on their own county's tasks; a task is
withdrawn only by its creator or a county admin. A review drops
the item's pending reminders (an approval) or lets the scan schedule a fresh round from the new
deadline (a return), tells the village, and writes the audit row.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from core import keys
from core.errors import Conflict, NotFound, Refused
from core.messages import Reply
from core.roles import Role
from core.rules import Rules
from core.statuses import AssignmentStatus, TaskKind, TaskStatus
from services import pushes
from services import task_texts as T
from services.task_pushes import tell_approved, tell_returned
from services.task_work import status_zh
from services.tasks import require_county_staff, require_dispatcher, require_task_reviewer
from storage import audit, outbox_cancel, problems
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


async def _reviewable(session: AsyncSession, me: PersonDTO, assignment_id: int) -> int:
    """The task's county id, when ``me`` may review the item (see require_task_reviewer)."""
    require_dispatcher(me)
    item = await store.lock_assignment(session, assignment_id)
    task = await store.get_task(session, item.task_id) if item is not None else None
    if item is None or task is None:  # foreign like unknown: no oracle
        raise NotFound(T.NO_SUCH_ASSIGNMENT.format(id=assignment_id))
    try:
        county_id = await require_task_reviewer(session, me, task)
    except NotFound:
        raise NotFound(T.NO_SUCH_ASSIGNMENT.format(id=assignment_id)) from None
    if task.kind == TaskKind.RECTIFY:  # a fix is reviewed as its problem: 复核通过 / 复核退回
        problem = await problems.by_assignment(session, assignment_id)
        raise Conflict(T.RECTIFY_REVIEWED_AS_PROBLEM.format(id=problem.id if problem else "?"))
    if item.status != AssignmentStatus.SUBMITTED:
        raise Conflict(T.NOT_REVIEWABLE.format(id=assignment_id, status=status_zh(item.status)))
    return county_id


async def approve(
    session: AsyncSession, me: PersonDTO, assignment_id: int, *, now: datetime, rules: Rules
) -> AssignmentDTO:
    """通过: the item is done; its reminders stop and the village is told."""
    county_id = await _reviewable(session, me, assignment_id)
    item = await store.approve(session, assignment_id, me.id, county_id, now)
    if item is None:
        raise Conflict(T.CHANGED_MEANWHILE.format(id=assignment_id))
    await outbox_cancel.cancel_reminders(session, [assignment_id])
    await audit.log(
        session, at=now, person_id=me.id, action="task.approve", obj=f"assignment:{assignment_id}"
    )
    await tell_approved(session, item, now=now, rules=rules)
    return item


async def return_(
    session: AsyncSession,
    me: PersonDTO,
    assignment_id: int,
    *,
    reason: str,
    deadline: datetime,
    now: datetime,
    rules: Rules,
) -> AssignmentDTO:
    """退回: back to the village with a reason and a new deadline."""
    county_id = await _reviewable(session, me, assignment_id)
    item = await store.return_(
        session,
        assignment_id,
        me.id,
        county_id,
        now,
        reason=reason[:MAX_REASON],
        deadline=deadline,
    )
    if item is None:
        raise Conflict(T.CHANGED_MEANWHILE.format(id=assignment_id))
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="task.return",
        obj=f"assignment:{assignment_id}",
        detail={"reason": reason[:200]},
    )
    await tell_returned(session, item, reason, now=now, rules=rules)
    return item


async def cancellable(session: AsyncSession, me: PersonDTO, task_id: int) -> TaskDTO:
    """The task ``me`` may withdraw: their own, or (county admin) any of their county's."""
    require_county_staff(me)
    task = await store.get_task(session, task_id)
    if task is None or task.county_id != me.region_id:  # foreign like unknown: no oracle
        raise NotFound(T.NO_SUCH_COUNTY_TASK.format(id=task_id))
    if task.created_by != me.id and me.role != Role.ADMIN:
        raise Refused(T.NOT_YOURS_TO_CANCEL.format(title=task.title))
    if task.status == TaskStatus.CANCELLED:
        raise Conflict(T.ALREADY_CANCELLED.format(title=task.title))
    return task


async def cancel_task(
    session: AsyncSession, me: PersonDTO, task_id: int, *, now: datetime, rules: Rules
) -> Cancelled:
    """撤销任务 (confirmed): every still-active item is cancelled, its pending push and
    reminders dropped, every village that had received it told, and the creator told when
    someone else withdrew it."""
    task = await cancellable(session, me, task_id)
    ids = await store.cancel_task(session, task_id, me.region_id, now)
    if ids is None:
        raise NotFound(T.NO_SUCH_COUNTY_TASK.format(id=task_id))
    await outbox_cancel.cancel_reminders(session, ids)
    await outbox_cancel.cancel_pushes(session, ids)
    told = await _tell_villages(session, task, ids, now=now, rules=rules)
    if task.created_by != me.id:
        text = T.PUSH_CANCELLED_CREATOR.format(
            title=task.title, task=task_id, who=me.name, n=len(ids)
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
        detail={"assignments": len(ids), "told": told},
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
            reply=Reply(T.PUSH_CANCELLED.format(title=task.title)),
            key=keys.task_cancelled(item.id),
            now=now,
            rules=rules,
            respect_quiet_hours=True,
        )
    return len(items)
