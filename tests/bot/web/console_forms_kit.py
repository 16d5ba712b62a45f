"""Shared pieces of the console's task form tests: a submission with a photo, and reads of
what the forms changed (tasks by title, an assignment, outbox rows by key)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from services import media, task_work
from services import tasks as task_service
from storage.models import Assignment, OutboxMessage, Task
from tests.factories import photo_bytes

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def tasks_titled(sm, title: str) -> list[Task]:
    async with sm() as s:
        return list(await s.scalars(sa.select(Task).where(Task.title == title)))


async def outbox_states(sm, keys: list[str]) -> dict[str, str]:
    async with sm() as s:
        rows = await s.execute(
            sa.select(OutboxMessage.idempotency_key, OutboxMessage.status).where(
                OutboxMessage.idempotency_key.in_(keys)
            )
        )
        return dict(rows.all())


async def submitted(
    sm, facts, clock, rules, where, voice: bytes | None = None
) -> tuple[int, int, str, str]:
    """A county task with 需要照片 handed in by 石门村 with a text and a photo (and ``voice``, a
    voice note, when given), stored in ``where`` (a media folder or a media store): (number,
    village id, photo path, thumbnail path)."""
    w = facts.world
    now = clock.now()
    data = photo_bytes((200, 30, 30))
    if isinstance(where, Path):
        stored = media.save_image_sync(where, data)
        spoken = media.save_voice_sync(where, voice) if voice else None
    else:
        stored = await media.save_image(where, data)
        spoken = await media.save_voice(where, voice) if voice else None
    async with sm() as s, s.begin():
        made = await task_service.create_task(
            s,
            w.people["county0"],
            task_service.TaskDraft(
                kind="task",
                title="危房照片",
                deadline=datetime(2026, 11, 12, 18, 0, tzinfo=SHANGHAI),
                scope={"villages": [w.villages[0].id, w.villages[1].id]},
                evidence_required=True,
            ),
            now=now,
            rules=rules,
        )
        [item] = [i for i in made.items if i.village_id == w.villages[0].id]
        photo_ids = [
            await task_work.record_photo(s, w.people["sec0"], got, now=now, rules=rules)
            for got in (
                stored.to_dict(),
                *([spoken.to_dict()] if spoken else []),
            )
        ]
        await task_work.submit(
            s,
            w.people["sec0"],
            item.id,
            texts=["三户危房已拍照，王大家屋顶已加固"],
            photo_ids=photo_ids,
            now=now,
            rules=rules,
        )
    return made.task.number, w.villages[0].id, stored.path, stored.thumb_path


async def item_of(sm, number: int, village_id: int) -> Assignment:
    async with sm() as s:
        item = await s.scalar(
            sa.select(Assignment)
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.number == number, Task.kind == "task", Assignment.village_id == village_id)
        )
        assert item is not None
        return item
