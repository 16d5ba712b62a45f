"""The task use cases, called directly on a real session: one create for the chat and the API,
role and county checks on review, assignee checks on the village side, and the side effects
(reminders dropped, evidence as photo ids)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa

from bot.web.api import draft_of
from core import keys
from core.deadlines import parse_deadline
from core.errors import Conflict, Invalid, NotFound, Refused
from handlers.task_authoring import parse_one_liner, parse_scope
from services import task_review, task_work
from services import tasks as service
from storage import people, regions
from storage.models import Assignment, OutboxMessage, Photo, Task
from tasks import reminders
from tests.conftest import SHANGHAI
from tests.factories import make_world

PHOTO = {
    "sha256": "cd" * 32,
    "path": "cd/y.jpg",
    "thumb_path": "cd/y.thumb.jpg",
    "mime": "image/jpeg",
    "size": 10,
    "width": 4,
    "height": 3,
    "taken_at": "2026-11-10T09:30:00",
}


def _chat_draft(text: str, now: datetime, rules: Any) -> service.TaskDraft:
    fields = parse_one_liner(text)
    return service.TaskDraft(
        kind="task",
        title=fields["title"],
        body=fields.get("body", ""),
        deadline=parse_deadline(fields["deadline_text"], now, rules.timezone),
        scope=parse_scope(fields["scope_text"]),
        evidence_required=bool(fields.get("evidence")),
    )


async def _rows(s: Any, task_id: int) -> tuple[Any, ...]:
    task = await s.get(Task, task_id)
    items = (
        await s.execute(
            sa.select(
                Assignment.village_id,
                Assignment.assignee_id,
                Assignment.status,
                Assignment.deadline,
                Assignment.remind_at,
            )
            .where(Assignment.task_id == task_id)
            .order_by(Assignment.village_id)
        )
    ).all()
    ids = await s.scalars(sa.select(Assignment.id).where(Assignment.task_id == task_id))
    pushes = await s.scalars(
        sa.select(OutboxMessage.recipient_id)
        .where(OutboxMessage.idempotency_key.in_([keys.task_push(i) for i in ids]))
        .order_by(OutboxMessage.recipient_id)
    )
    fields = (
        task.kind,
        task.title,
        task.body,
        task.deadline,
        list(task.reminder_offsets),
        task.evidence_required,
        task.scope,
        task.created_by,
    )
    return fields, [tuple(r) for r in items], list(pushes)


async def _task(sm: Any, world: Any, clock: Any, rules: Any, **draft: Any) -> service.Created:
    fields: dict[str, Any] = {
        "kind": "task",
        "title": "上报危房改造进度",
        "deadline": datetime(2026, 11, 20, 18, 0, tzinfo=SHANGHAI),
        "scope": {"townships": ["东岭镇"]},
    }
    async with sm() as s, s.begin():
        return await service.create_task(
            s,
            world.people["county0"],
            service.TaskDraft(**(fields | draft)),
            now=clock.now(),
            rules=rules,
        )


async def _other_county_staff(sm: Any, now: datetime) -> Any:
    async with sm() as s, s.begin():
        county = await regions.add(s, "county", "邻县", code="C2")
        return await people.add(
            s, name="邻县干部", role="county_staff", region_id=county.id, now=now
        )


async def test_chat_and_api_shaped_input_create_the_same_rows(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    me = world.people["county0"]
    chat = _chat_draft("危房改造进度 / 截止 12月5日前 / 范围 东岭镇 / 需要照片", clock.now(), rules)
    api = draft_of(
        {
            "title": "危房改造进度",
            "deadline": "12月5日前",
            "scope": {"townships": ["东岭镇"]},
            "evidence_required": True,
        },
        clock.now(),
        rules,
    )
    assert chat == api
    async with sessionmaker() as s, s.begin():
        a = await service.create_task(s, me, chat, now=clock.now(), rules=rules)
        b = await service.create_task(s, me, api, now=clock.now(), rules=rules, via="api")
    assert len(a.items) == 2 and a.unassigned == []
    async with sessionmaker() as s:
        rows_a, rows_b = await _rows(s, a.task.id), await _rows(s, b.task.id)
    assert rows_a == rows_b
    fields, items, pushes = rows_a
    assert fields[3] is not None and fields[4] == ["3d", "1d", "0d"] and fields[5] is True
    assert [i[0] for i in items] == [world.villages[0].id, world.villages[1].id]
    assert all(i[4] is not None for i in items)  # the first reminder is scheduled at creation
    assert pushes == sorted([world.people["sec0"].id, world.people["sec1"].id])


async def test_a_village_cadre_cannot_send_a_task(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Refused):
            await service.create_task(
                s,
                world.people["sec0"],
                service.TaskDraft(kind="notice", title="x"),
                now=clock.now(),
                rules=rules,
            )


async def test_unknown_village_is_invalid_with_near_names(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    with pytest.raises(Invalid) as caught:
        await _task(sessionmaker, world, clock, rules, scope={"villages": ["石门"]})
    assert caught.value.field == "scope" and "石门村" in caught.value.detail["near"]
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Task)) == 0


async def test_approve_by_another_countys_staff_is_refused(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    (item,) = (await _task(sessionmaker, world, clock, rules)).items
    stranger = await _other_county_staff(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await task_work.submit(
            s,
            world.people["sec0"],
            item.id,
            texts=["已上报"],
            photo_ids=[],
            now=clock.now(),
            rules=rules,
        )
    async with sessionmaker() as s, s.begin():
        with pytest.raises(NotFound):  # another county's item is answered like an unknown one
            await task_review.approve(
                s, stranger, item.task_number, item.village_id, now=clock.now(), rules=rules
            )
        with pytest.raises(Refused):
            await task_review.cancel_task(
                s, world.people["sec0"], item.task_number, now=clock.now(), rules=rules
            )
    async with sessionmaker() as s:
        assert (await s.get(Assignment, item.id)).status == "submitted"
    async with sessionmaker() as s, s.begin():
        done = await task_review.approve(
            s, world.people["county1"], item.task_number, item.village_id, now=clock.now(),
            rules=rules,
        )  # fmt: skip
    assert done.status == "approved"


async def test_ack_by_someone_not_the_assignee_is_refused(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    item = (await _task(sessionmaker, world, clock, rules)).items[0]
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Refused):
            # 杏花村 (西川乡) was not sent the task: task 1 names no item of theirs.
            await task_work.ack(s, world.people["sec2"], item.task_number, now=clock.now())
        with pytest.raises(Refused):
            await task_work.ack(s, world.people["county0"], item.task_number, now=clock.now())
    async with sessionmaker() as s, s.begin():
        acked = await task_work.ack(s, world.people["sec0"], item.task_number, now=clock.now())
    assert acked.status == "acked"
    async with sessionmaker() as s:
        push = await s.scalar(
            sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == f"task:{item.id}")
        )
    assert push.acked_at is not None


async def test_cancel_drops_pending_reminders(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    created = await _task(sessionmaker, world, clock, rules)
    clock.set(datetime(2026, 11, 17, 8, 1, tzinfo=SHANGHAI))  # the 3d reminder is due
    async with sessionmaker() as s, s.begin():
        assert (await reminders.enqueue_due_reminders(s, clock.now(), rules)).reminders == 2
    async with sessionmaker() as s, s.begin():
        done = await task_review.cancel_task(
            s, world.people["county0"], created.task.number, now=clock.now(), rules=rules
        )
    assert sorted(done.assignment_ids) == sorted(i.id for i in created.items)
    async with sessionmaker() as s:
        statuses = (
            await s.execute(
                sa.select(OutboxMessage.status)
                .where(OutboxMessage.idempotency_key.like("remind:%"))
                .distinct()
            )
        ).scalars()
        assert set(statuses) == {"cancelled"}
        items = set(await s.scalars(sa.select(Assignment.status)))
    assert items == {"cancelled"}


async def test_submitting_a_finished_item_is_a_conflict(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    (item,) = (await _task(sessionmaker, world, clock, rules)).items
    sec = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        await task_work.submit(
            s, sec, item.id, texts=["已上报"], photo_ids=[], now=clock.now(), rules=rules
        )
        await task_review.approve(
            s, world.people["county0"], item.task_number, item.village_id, now=clock.now(),
            rules=rules,
        )  # fmt: skip
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Conflict) as caught:
            await task_work.submit(
                s, sec, item.id, texts=["再交一次"], photo_ids=[], now=clock.now(), rules=rules
            )
        assert "已通过" in caught.value.message
        with pytest.raises(Conflict):
            await task_work.begin_submission(s, sec, item.task_number, now=clock.now())
        with pytest.raises(Conflict):
            await task_review.approve(
                s, world.people["county0"], item.task_number, item.village_id, now=clock.now(),
                rules=rules,
            )  # fmt: skip


async def test_evidence_holds_photo_ids(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    (item,) = (await _task(sessionmaker, world, clock, rules, evidence_required=True)).items
    sec = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid):  # evidence required: something must be handed in
            await task_work.submit(
                s, sec, item.id, texts=[], photo_ids=[], now=clock.now(), rules=rules
            )
    async with sessionmaker() as s, s.begin():
        photo_id = await task_work.record_photo(s, sec, PHOTO, now=clock.now(), rules=rules)
        assert await task_work.record_photo(s, sec, PHOTO, now=clock.now(), rules=rules) == photo_id
        done = await task_work.submit(
            s, sec, item.id, texts=["已张贴"], photo_ids=[photo_id], now=clock.now(), rules=rules
        )
    assert done.photo_ids == [photo_id] and done.evidence["texts"] == ["已张贴"]
    async with sessionmaker() as s:
        photo = await s.get(Photo, photo_id)
        row = await s.get(Assignment, item.id)
        creator_push = await s.scalar(
            sa.select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"task:{item.id}:submitted:0"
            )
        )
    assert photo.assignment_id == item.id and photo.uploaded_by == sec.id
    assert photo.taken_at.astimezone(SHANGHAI).hour == 9
    assert row.evidence["photo_ids"] == [photo_id] and "photos" not in row.evidence
    assert creator_push.recipient_id == world.people["county0"].id
    assert "附照片 1 张" in creator_push.body["text"]
