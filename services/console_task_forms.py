"""What the console's task forms need beyond the chat's use cases: the villages a dispatcher
may send to (for the scope picker), one village's submission with its photos (for review),
whether the signed-in person may review or withdraw a task (to offer the buttons), and the
photo check of the console's media route.

Sending, reviewing and withdrawing themselves are the chat's use cases, called as they are:
services.tasks.create_task / preview_villages, services.task_review.approve / return_ /
cancel_task. Every function here checks scope itself; an id outside it answers like an
unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import DomainError, NotFound
from core.statuses import TaskStatus
from services import task_review, tasks
from services import task_texts as T
from storage import photos, task_files, task_queries, task_rows
from storage.people import PersonDTO
from storage.photos import ShownPhoto
from storage.session import AsyncSession
from storage.task_files import TaskFileDTO
from storage.tasks import AssignmentDTO, TaskDTO


@dataclass(frozen=True)
class Township:
    id: int
    name: str
    villages: list[tuple[int, str]]  # (village id, name)


@dataclass(frozen=True)
class Submission:
    task: TaskDTO
    item: AssignmentDTO
    town: str
    texts: list[str]
    photos: list[ShownPhoto]
    voices: tuple[str, ...] = ()  # voice notes handed in with it (paths), oldest first


async def sendable(session: AsyncSession, me: PersonDTO) -> list[Township]:
    """The townships and villages ``me`` may send a task to, grouped by township: the county's
    for county staff, their own township's for township staff (Refused for anyone else)."""
    tasks.require_dispatcher(me)
    county_id = await tasks.county_id_of(session, me)
    rows = await task_queries.county_villages(session, county_id)
    own = me.region_id if tasks.is_township_staff(me) else None
    grouped: dict[int, Township] = {}
    for vid, vname, tid, tname in rows:
        if own is not None and tid != own:
            continue
        grouped.setdefault(tid, Township(tid, tname, [])).villages.append((vid, vname))
    return list(grouped.values())


async def submission(
    session: AsyncSession, me: PersonDTO, number: int, village_id: int
) -> Submission:
    """Task ``number``'s share for ``village_id`` as its reviewer sees it (the same check as
    通过 / 退回: services.tasks.reviewable_task); a forged village answers NotFound."""
    task = await tasks.reviewable_task(session, me, number)
    item = await task_rows.assignment_for(session, task.id, village_id)
    if item is None:
        raise NotFound(T.NO_SUCH_TASK.format(n=number))
    town = ""
    for vid, _vname, _tid, tname in await task_queries.county_villages(session, task.county_id):
        if vid == village_id:
            town = tname
    texts = [str(t) for t in item.evidence.get("texts", [])]
    shown = await photos.of_assignment(session, item.id)
    voices = await photos.voices_of(session, assignment_id=item.id)
    return Submission(task, item, town, texts, shown, voices.get(item.id, ()))


def may_send(me: PersonDTO) -> bool:
    """Whether ``me`` sends tasks (county or township staff), to offer the form."""
    return tasks.is_dispatcher(me)


async def may_review(session: AsyncSession, me: PersonDTO, task: TaskDTO) -> bool:
    """Whether ``me`` reviews this task's submissions (to link them from its page)."""
    try:
        await tasks.require_task_reviewer(session, me, task)
    except DomainError:
        return False
    return True


async def may_cancel(session: AsyncSession, me: PersonDTO, task: TaskDTO) -> bool:
    """Whether ``me`` may withdraw this task now (to offer 撤销 on its page)."""
    if task.status != TaskStatus.ACTIVE:
        return False
    try:
        await task_review.cancellable(session, me, task.number)
    except DomainError:
        return False
    return True


async def may_view_photo(session: AsyncSession, me: PersonDTO, rel_path: str) -> bool | None:
    """The media route's check (the same as the chat's /media): the photo's village within the
    person's region, or their own upload. None: no photo has that path."""
    return await photos.may_view_photo(session, me.id, rel_path)


async def attachments_of(session: AsyncSession, me: PersonDTO, task: TaskDTO) -> list[TaskFileDTO]:
    """The task's attachments (附件) to list on its page: the same check as their download
    (bot.web.attachments), so a listed file is one the person can open."""
    if not await task_files.may_download(session, me.id, task.id):
        return []
    return await task_files.of_task(session, task.id)
