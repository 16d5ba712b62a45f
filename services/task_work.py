"""The village side of a task: acknowledge it (收到), start a submission (已完成 / 提交 N),
record an evidence photo, and hand the work in. An item is named by its task's public number
(``任务 3``; a rectification item by its problem's, ``问题 5``) and is the person's own share of
it in their county. Only the assignee may act on an item; any other number gets the same
refusal, so replies cannot be used to probe what exists elsewhere.

Evidence keeps photo *ids* (``evidence["photo_ids"]``, as a rectification does), and handing
in attaches those photos to the assignment, drops its pending reminders and tells the task's
creator.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from core.errors import Conflict, Invalid, Refused
from core.numbers import Series, problem_ref, task_ref
from core.rules import Rules
from core.statuses import ASSIGNMENT_ZH, OPEN, AssignmentStatus, TaskKind, TaskStatus
from services import task_texts as T
from services import visit_texts as VT
from services.task_pushes import tell_submitted
from storage import audit, outbox_cancel, photos, regions, task_rows
from storage import tasks as store
from storage.people import PersonDTO
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO

log = logging.getLogger(__name__)


_ZH = {k.value: v for k, v in ASSIGNMENT_ZH.items()}


def status_zh(status: str) -> str:
    """The word a cadre reads for an assignment status (未确认, 待审核 ...)."""
    return _ZH.get(status, status)


def _ref(series: Series, number: int) -> str:
    return problem_ref(number) if series == Series.PROBLEM else task_ref(TaskKind.TASK, number)


async def my_item(
    session: AsyncSession, me: PersonDTO, number: int, series: Series = Series.TASK
) -> AssignmentDTO:
    """The person's own share of their county's task ``number`` (otherwise refused)."""
    county = await regions.county_of(session, me.region_id)
    item = (
        await task_rows.item_by_number(session, county.id, series, number, me.id)
        if county is not None
        else None
    )
    if item is None or item.assignee_id != me.id:
        raise Refused(T.NOT_YOURS.format(ref=_ref(series, number)))
    return item


_CLOSED_TEXT = {
    AssignmentStatus.CANCELLED: T.ITEM_CANCELLED,
    AssignmentStatus.APPROVED: T.ITEM_APPROVED,
    AssignmentStatus.SUBMITTED: T.ITEM_SUBMITTED,
}


def require_open(item: AssignmentDTO) -> None:
    """A button pressed on a withdrawn, approved or handed-in item answers its real state."""
    status = AssignmentStatus(item.status)
    if status in OPEN:
        return
    text = _CLOSED_TEXT.get(status, T.NOTHING_TO_SUBMIT)
    raise Conflict(text.format(title=item.task_title, status=status_zh(item.status)))


async def ack(
    session: AsyncSession,
    me: PersonDTO,
    number: int,
    *,
    now: datetime,
    series: Series = Series.TASK,
) -> AssignmentDTO:
    """收到: the item is acknowledged and so are its pushes (the receipt the county sees).
    On an item no longer open it answers the item's real state instead."""
    mine = await my_item(session, me, number, series)
    require_open(mine)
    assignment_id = mine.id
    item = await store.ack(session, assignment_id, me.id, now)
    if item is None:
        raise Refused(T.NOT_YOURS.format(ref=mine.ref))
    await outbox_cancel.mark_acked(session, assignment_id, me.id, now)
    await audit.log(
        session, at=now, person_id=me.id, action="task.ack", obj=f"assignment:{assignment_id}"
    )
    return item


async def begin_submission(
    session: AsyncSession,
    me: PersonDTO,
    number: int,
    *,
    now: datetime,
    series: Series = Series.TASK,
    receipt: bool = False,
) -> AssignmentDTO:
    """The item the person is about to hand in, if it is still open. ``receipt``: they
    pressed a button on a push (已完成), which also counts as having read it."""
    item = await my_item(session, me, number, series)
    if receipt:
        await outbox_cancel.mark_acked(session, item.id, me.id, now)
    require_open(item)
    if item.task_kind == TaskKind.RECTIFY:  # a fix goes to review as its problem (整改完成)
        raise Invalid(VT.RECTIFY_USE_FIX.format(id=item.task_number))
    return item


def _taken_at(photo: Mapping[str, Any], rules: Rules) -> datetime | None:
    taken = photo.get("taken_at")
    if not taken:
        return None
    try:
        return datetime.fromisoformat(str(taken)).replace(tzinfo=rules.timezone)
    except ValueError:
        return None


async def record_photo(
    session: AsyncSession,
    me: PersonDTO,
    stored: Mapping[str, Any],
    *,
    now: datetime,
    rules: Rules,
) -> int:
    """The photo row of a file the channel already saved (one per SHA-256); its id."""
    row = {
        "sha256": stored["sha256"],
        "path": stored["path"],
        "thumb_path": stored.get("thumb_path") or None,
        "mime": stored.get("mime") or "image/jpeg",
        "kind": stored.get("kind") or "photo",
        "size": int(stored.get("size") or 0),
        "width": int(stored.get("width") or 0),
        "height": int(stored.get("height") or 0),
    }
    photo_id, _new = await photos.add_photo(
        session, row, uploaded_by=me.id, now=now, taken_at=_taken_at(stored, rules)
    )
    return photo_id


async def submit(
    session: AsyncSession,
    me: PersonDTO,
    assignment_id: int,
    *,
    texts: Sequence[str],
    photo_ids: Sequence[int],
    now: datetime,
    rules: Rules,
) -> AssignmentDTO:
    """Hand in the work: evidence stored, photos attached, reminders dropped, creator told."""
    locked = await store.lock_assignment(session, assignment_id)
    if locked is None or locked.assignee_id != me.id:
        raise Refused(T.NOT_YOURS_TO_SUBMIT)
    task = await store.get_task(session, locked.task_id)
    if task is None or task.status != TaskStatus.ACTIVE or locked.status not in OPEN:
        raise Conflict(T.NOTHING_TO_SUBMIT_NOW.format(status=status_zh(locked.status)))
    if task.kind == TaskKind.RECTIFY:  # a fix goes to review as its problem (整改完成)
        raise Invalid(VT.RECTIFY_USE_FIX.format(id=task.number))
    if locked.evidence_required and not await photos.only_photos(
        session, list(photo_ids)
    ):  # 需要照片: a text alone is not enough
        raise Invalid(T.NEEDS_PHOTO, field="photos")
    if not (texts or photo_ids):
        raise Invalid(T.NEEDS_EVIDENCE)
    item = await store.submit(
        session, assignment_id, me.id, now, texts=list(texts), photos=list(photo_ids)
    )
    if item is None:
        raise Conflict(T.CHANGED_MEANWHILE.format(ref=locked.ref))
    await outbox_cancel.cancel_reminders(session, [item.id])
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="task.submit",
        obj=f"assignment:{item.id}",
        detail={"texts": len(texts), "photos": len(photo_ids)},
    )
    await tell_submitted(session, item, texts, len(photo_ids), now=now, rules=rules)
    log.info("task submitted assignment=%s person=%s", item.id, me.id)
    return item
