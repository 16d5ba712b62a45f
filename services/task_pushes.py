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
from core.numbers import CODE_OF, Series, series_of
from core.payloads import ItemAck, ItemDone, ReviewPass
from core.rules import Rules
from core.statuses import TaskKind
from services import attachment_links, pushes
from services import attachment_texts as AT
from services import task_texts as T
from services.attachments import human_size
from storage import outbox
from storage.session import AsyncSession
from storage.task_files import TaskFileDTO
from storage.tasks import AssignmentDTO, TaskDTO


def item_buttons(kind: str, number: int, *, done: bool = True) -> tuple[Button, ...]:
    """收到 (and 已完成) on an item, named by its public number: the one place they are made."""
    code = CODE_OF[series_of(kind)]
    ack = ItemAck(code, number).button(T.BUTTON_ACK)
    return (ack, ItemDone(code, number).button(T.BUTTON_DONE)) if done else (ack,)


def next_step(kind: str, number: int, *, again: bool = False) -> str:
    """What the village sends to hand the item in (``again``: after a return): 提交 N, or
    整改完成 N for a rectification item."""
    if series_of(kind) == Series.PROBLEM:
        return T.NEXT_RECTIFY.format(n=number)
    return (T.NEXT_SUBMIT_AGAIN if again else T.NEXT_SUBMIT).format(n=number)


def item_meta(kind: str, item: AssignmentDTO) -> dict[str, Any]:
    """What a push is about, for a client: the public number and the village, never ids."""
    return {"kind": kind, "number": item.task_number, "village": item.village_name}


def file_lines(
    task: TaskDTO,
    files: Sequence[TaskFileDTO],
    person_id: int,
    now: datetime,
    rules: Rules,
) -> str:
    """The attachments of a push: each name with its size and a download link signed for the
    person it goes to (the web chat shows the links as links, other channels as text)."""
    if not files:
        return ""
    until = attachment_links.expiry(now, task.deadline)
    lines = [AT.PUSH_FILES]
    for f in files:
        link = attachment_links.url(rules.public_url, rules.file_link_key, f.id, person_id, until)
        lines.append(AT.PUSH_FILE.format(name=f.name, size=human_size(f.size), url=link))
    return "".join(lines)


def push_body(
    task: TaskDTO,
    item: AssignmentDTO,
    rules: Rules,
    files: Sequence[TaskFileDTO] = (),
    now: datetime | None = None,
) -> dict[str, Any]:
    body = f"{task.body}\n" if task.body else ""
    if task.kind == TaskKind.NOTICE:
        text = T.PUSH_NOTICE.format(title=task.title, body=body, ref=task.ref)
        buttons = item_buttons(task.kind, task.number, done=False)
    else:
        text = T.PUSH_TASK.format(
            title=task.title,
            body=body,
            deadline=show(item.deadline, rules.timezone),
            evidence=T.EVIDENCE_NEEDED if task.evidence_required else "",
            ref=task.ref,
            n=task.number,
        )
        buttons = item_buttons(task.kind, task.number)
    if files and item.assignee_id is not None:
        text += file_lines(task, files, item.assignee_id, now or task.created_at, rules)
    return Reply(text, buttons, meta=item_meta(task.kind, item)).to_dict()


async def publish(
    session: AsyncSession,
    task: TaskDTO,
    items: Sequence[AssignmentDTO],
    now: datetime,
    rules: Rules,
    files: Sequence[TaskFileDTO] = (),
) -> int:
    """Queue the push of a new task to every assignee (``keys.task_push``), spread over the
    first minutes after quiet hours so a county-wide task does not hit the channel at once.
    ``files``: the task's attachments, listed with a download link for each assignee."""
    reachable = [i for i in items if i.assignee_id is not None]
    start = rules.after_quiet_hours(now)
    rows = [
        {
            "recipient_id": i.assignee_id,
            "body": push_body(task, i, rules, files, now),
            "idempotency_key": keys.task_push(i.id),
            "not_before": spread(keys.task_push(i.id), len(reachable), start),
            "lane": keys.county_lane(task.county_id),
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
    fields = {"village": item.village_name, "title": item.task_title, "ref": item.ref}
    if series_of(item.task_kind) == Series.TASK:
        text = T.PUSH_SUBMITTED.format(**fields, n=item.task_number, summary=summary.strip())
        buttons: tuple[Button, ...] = (
            ReviewPass(item.task_number, item.village_id).button(T.BUTTON_APPROVE),
        )
    else:  # a rectification item: 通过 N names tasks, so neither the hint nor the button fits
        text = T.PUSH_SUBMITTED_RECTIFY.format(**fields, summary=summary.strip())
        buttons = ()
    reply = Reply(text, buttons, meta=item_meta("submitted", item))
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
        reply=Reply(T.PUSH_APPROVED.format(title=item.task_title, ref=item.ref)),
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
        ref=item.ref,
        reason=reason,
        deadline=show(item.deadline, rules.timezone),
        next=next_step(item.task_kind, item.task_number, again=True),
    )
    await pushes.push(
        session,
        to=item.assignee_id,
        reply=Reply(text, item_buttons(item.task_kind, item.task_number, done=False)),
        key=keys.task_returned(item.id, item.returns),
        now=now,
        rules=rules,
        respect_quiet_hours=True,
    )
