"""The messages a task sends to other people: the new task or notice to each village, and a
submission, an approval or a return to whoever is waiting on it. Keys come from ``core.keys``
and buttons from ``core.payloads``; the wording from ``services.task_texts``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core import keys
from core.channel import spread
from core.deadlines import show
from core.messages import Button, Reply
from core.payloads import ReviewApprove, TaskAck, TaskDone
from core.rules import Rules
from core.statuses import TaskKind
from services import pushes
from services import task_texts as T
from storage import outbox
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO, TaskDTO


def push_body(task: TaskDTO, item: AssignmentDTO, rules: Rules) -> dict[str, Any]:
    body = f"{task.body}\n" if task.body else ""
    if task.kind == TaskKind.NOTICE:
        text = T.PUSH_NOTICE.format(title=task.title, body=body)
        buttons: tuple[Button, ...] = (TaskAck(item.id).button(T.BUTTON_ACK),)
    else:
        text = T.PUSH_TASK.format(
            title=task.title,
            body=body,
            deadline=show(item.deadline, rules.timezone),
            evidence=T.EVIDENCE_NEEDED if task.evidence_required else "",
            id=item.id,
        )
        buttons = (TaskAck(item.id).button(T.BUTTON_ACK), TaskDone(item.id).button(T.BUTTON_DONE))
    return Reply(text, buttons, meta={"kind": task.kind, "assignment": item.id}).to_dict()


async def publish(
    session: AsyncSession,
    task: TaskDTO,
    items: Sequence[AssignmentDTO],
    now: datetime,
    rules: Rules,
) -> int:
    """Queue the push of a new task to every assignee (``keys.task_push``), spread over the
    first minutes after quiet hours so a county-wide task does not hit the channel at once."""
    reachable = [i for i in items if i.assignee_id is not None]
    start = rules.after_quiet_hours(now)
    rows = [
        {
            "recipient_id": i.assignee_id,
            "body": push_body(task, i, rules),
            "idempotency_key": keys.task_push(i.id),
            "not_before": spread(keys.task_push(i.id), len(reachable), start),
        }
        for i in reachable
    ]
    return await outbox.enqueue_many(session, rows, now)


async def tell_submitted(
    session: AsyncSession,
    item: AssignmentDTO,
    texts: Sequence[str],
    photos: int,
    *,
    now: datetime,
    rules: Rules,
) -> None:
    summary = "\n".join(t[:200] for t in texts[:3]) or ""
    if photos:
        summary += T.SUBMITTED_PHOTOS.format(n=photos)
    reply = Reply(
        T.PUSH_SUBMITTED.format(
            village=item.village_name, title=item.task_title, id=item.id, summary=summary.strip()
        ),
        (ReviewApprove(item.id).button(T.BUTTON_APPROVE),),
        meta={"kind": "submitted", "assignment": item.id},
    )
    await pushes.push(
        session,
        to=item.created_by,
        reply=reply,
        key=keys.task_submitted(item.id, item.returns),
        now=now,
        rules=rules,
        urgent=False,
        respect_quiet_hours=True,
    )


async def tell_approved(
    session: AsyncSession, item: AssignmentDTO, *, now: datetime, rules: Rules
) -> None:
    if item.assignee_id is None:
        return
    await pushes.push(
        session,
        to=item.assignee_id,
        reply=Reply(T.PUSH_APPROVED.format(title=item.task_title)),
        key=keys.task_approved(item.id),
        now=now,
        rules=rules,
        respect_quiet_hours=True,
    )


async def tell_returned(
    session: AsyncSession, item: AssignmentDTO, reason: str, *, now: datetime, rules: Rules
) -> None:
    if item.assignee_id is None:
        return
    text = T.PUSH_RETURNED.format(
        title=item.task_title,
        reason=reason,
        deadline=show(item.deadline, rules.timezone),
        id=item.id,
    )
    await pushes.push(
        session,
        to=item.assignee_id,
        reply=Reply(text, (TaskAck(item.id).button(T.BUTTON_ACK),)),
        key=keys.task_returned(item.id, item.returns),
        now=now,
        rules=rules,
        respect_quiet_hours=True,
    )
