"""Task attachments (附件): one row per file a task carries, and who may download it."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people as people_store
from storage import regions as region_store
from storage.models import Assignment, Task, TaskFile


@dataclass(frozen=True)
class TaskFileDTO:
    id: int
    task_id: int
    name: str
    size: int
    mime: str
    sha256: str
    path: str


def _dto(f: TaskFile) -> TaskFileDTO:
    return TaskFileDTO(f.id, f.task_id, f.name, f.size, f.mime, f.sha256, f.path)


async def add(
    session: AsyncSession,
    task_id: int,
    *,
    name: str,
    size: int,
    mime: str,
    sha256: str,
    path: str,
    uploaded_by: int,
    now: datetime,
) -> TaskFileDTO:
    row = TaskFile(
        task_id=task_id,
        name=name,
        size=size,
        mime=mime,
        sha256=sha256,
        path=path,
        uploaded_by=uploaded_by,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return _dto(row)


async def of_task(session: AsyncSession, task_id: int) -> list[TaskFileDTO]:
    rows = await session.scalars(
        sa.select(TaskFile).where(TaskFile.task_id == task_id).order_by(TaskFile.id)
    )
    return [_dto(f) for f in rows]


async def get(session: AsyncSession, file_id: int) -> TaskFileDTO | None:
    row = await session.get(TaskFile, file_id)
    return _dto(row) if row else None


async def may_download(session: AsyncSession, person_id: int, task_id: int) -> bool:
    """Whether an active person may download the files of a task: its sender, or anyone
    whose region holds a village the task was assigned to (the village's secretary, the
    staff of its township and county)."""
    person = await people_store.get(session, person_id)
    if person is None or not person.active:
        return False
    sender = await session.scalar(sa.select(Task.created_by).where(Task.id == task_id))
    if sender == person_id:
        return True
    villages = set(await region_store.village_ids_under(session, person.region_id))
    if not villages:
        return False
    hit = await session.scalar(
        sa.select(Assignment.id)
        .where(Assignment.task_id == task_id, Assignment.village_id.in_(villages))
        .limit(1)
    )
    return hit is not None
