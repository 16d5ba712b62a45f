"""Reminder schedule (quiet hours, month ends), the due scan, escalation and cancellation."""

from __future__ import annotations

from datetime import datetime, time, timedelta

import sqlalchemy as sa

from core.rules import Rules
from storage import tasks as task_store
from storage.models import OutboxMessage
from tasks import reminders
from tests.conftest import SHANGHAI
from tests.factories import make_world


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


def test_default_schedule_crosses_month_end_and_continues_daily_while_overdue():
    rules = Rules()
    deadline = sh(2026, 12, 1, 18, 0)
    entries = reminders.schedule(deadline, ("3d", "1d", "0d"), rules, through=sh(2026, 12, 3, 9))
    shown = [(label, at.astimezone(SHANGHAI).strftime("%m-%d %H:%M")) for label, at in entries]
    assert shown == [
        ("3d", "11-28 08:00"),
        ("1d", "11-30 08:00"),
        ("0d", "12-01 08:00"),
        ("od20261202", "12-02 08:00"),
        ("od20261203", "12-03 08:00"),
    ]


def test_hour_offset_in_quiet_hours_is_deferred_to_the_morning():
    rules = Rules(quiet_start=time(21, 30), quiet_end=time(7, 30))
    deadline = sh(2026, 11, 30, 10, 0)  # 12h before = 22:00, inside quiet hours
    entries = reminders.schedule(deadline, ("12h",), rules, through=deadline)
    assert [(label, at.astimezone(SHANGHAI)) for label, at in entries] == [
        ("12h", sh(2026, 11, 30, 7, 30))
    ]


def test_reminder_deferred_past_the_deadline_is_dropped():
    rules = Rules()
    deadline = sh(2026, 11, 30, 7, 0)  # 2h before = 05:00 -> deferred to 07:30 > deadline
    assert reminders.schedule(deadline, ("2h",), rules, through=deadline) == []


def test_late_morning_quiet_end_moves_morning_reminders():
    rules = Rules(quiet_start=time(22, 0), quiet_end=time(9, 0))
    entries = reminders.schedule(sh(2026, 12, 1, 18), ("1d",), rules, through=sh(2026, 12, 1))
    assert entries[0][1].astimezone(SHANGHAI) == sh(2026, 11, 30, 9, 0)


async def _task(sessionmaker, clock, world, deadline, **kw):
    async with sessionmaker() as s, s.begin():
        task, items = await task_store.create_task(
            s,
            kind="task",
            title="上报危房改造进度",
            created_by=world.people["county0"].id,
            county_id=world.county.id,
            village_ids=[v.id for v in world.villages],
            now=clock.now(),
            deadline=deadline,
            **kw,
        )
    return task, items


async def _scan(sessionmaker, clock, rules):
    async with sessionmaker() as s, s.begin():
        return await reminders.enqueue_due_reminders(s, clock.now(), rules)


async def _keys(sessionmaker, prefix=""):
    async with sessionmaker() as s:
        rows = await s.scalars(
            sa.select(OutboxMessage.idempotency_key)
            .where(OutboxMessage.idempotency_key.startswith(prefix))
            .order_by(OutboxMessage.idempotency_key)
        )
        return list(rows)


async def test_scan_sends_each_reminder_once_and_only_the_latest_after_downtime(
    sessionmaker, clock, rules
):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    _, (item,) = await _task(sessionmaker, clock, world, sh(2026, 11, 20, 18))
    first = await _scan(sessionmaker, clock, rules)
    assert first.reminders == 0  # nothing due yet at creation
    clock.set(sh(2026, 11, 17, 8, 1))
    assert (await _scan(sessionmaker, clock, rules)).reminders == 1
    assert (await _scan(sessionmaker, clock, rules)).reminders == 0  # second tick: nothing new
    # Down from the 17th to the 23rd: one reminder (the latest, overdue), not five.
    clock.set(sh(2026, 11, 23, 9, 0))
    assert (await _scan(sessionmaker, clock, rules)).reminders == 1
    keys = await _keys(sessionmaker, "remind:")
    assert keys == [f"remind:{item.id}:3d", f"remind:{item.id}:od20261123"]


async def test_overdue_escalates_to_creator_once_per_day(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    task, items = await _task(sessionmaker, clock, world, sh(2026, 11, 12, 18))
    async with sessionmaker() as s, s.begin():  # one village finishes on time
        await task_store.submit(
            s, items[0].id, items[0].assignee_id, clock.now(), texts=["已完成"], photos=[]
        )
    clock.set(sh(2026, 11, 13, 8, 0))  # overdue 14 h: reminder but no escalation yet
    result = await _scan(sessionmaker, clock, rules)
    assert result.reminders == 3 and result.escalations == 0
    clock.set(sh(2026, 11, 14, 8, 0))  # 38 h overdue
    assert (await _scan(sessionmaker, clock, rules)).escalations == 1
    assert (await _scan(sessionmaker, clock, rules)).escalations == 0
    clock.set(sh(2026, 11, 15, 8, 0))
    assert (await _scan(sessionmaker, clock, rules)).escalations == 1
    async with sessionmaker() as s:
        row = await s.scalar(
            sa.select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"escalate:{task.id}:20261114"
            )
        )
    assert row.recipient_id == world.people["county0"].id
    assert "3 个村" in row.body["text"] and world.villages[0].name not in row.body["text"]


async def test_quiet_hours_defer_a_reminder_found_at_night(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    await _task(sessionmaker, clock, world, sh(2026, 11, 20, 18))
    clock.set(sh(2026, 11, 17, 23, 0))  # the service came back at night
    await _scan(sessionmaker, clock, rules)
    async with sessionmaker() as s:
        row = await s.scalar(sa.select(OutboxMessage))
    assert row.not_before.astimezone(SHANGHAI) == sh(2026, 11, 18, 7, 30)
    assert row.lane == f"county:{world.county.id}"  # the county's turn (storage.outbox)


async def test_cancelled_task_drops_pending_reminders(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=2)
    task, items = await _task(sessionmaker, clock, world, sh(2026, 11, 20, 18))
    clock.set(sh(2026, 11, 17, 8, 1))
    await _scan(sessionmaker, clock, rules)
    async with sessionmaker() as s, s.begin():
        ids = await task_store.cancel_task(s, task.id, world.county.id, clock.now())
        assert await reminders.cancel_reminders(s, ids) == 2
    clock.advance(timedelta(days=3))
    assert (await _scan(sessionmaker, clock, rules)).looked_at == 0
    async with sessionmaker() as s:
        statuses = set(await s.scalars(sa.select(OutboxMessage.status)))
    assert statuses == {"cancelled"}


async def test_returned_assignment_gets_a_fresh_round_of_reminders(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    _, (item,) = await _task(sessionmaker, clock, world, sh(2026, 11, 12, 18))
    clock.set(sh(2026, 11, 11, 8, 1))
    await _scan(sessionmaker, clock, rules)
    async with sessionmaker() as s, s.begin():
        await task_store.submit(s, item.id, item.assignee_id, clock.now(), texts=["好"], photos=[])
        await task_store.return_(
            s,
            item.id,
            world.people["county0"].id,
            world.county.id,
            clock.now(),
            reason="照片不清楚",
            deadline=sh(2026, 11, 14, 18),
        )
    clock.set(sh(2026, 11, 13, 8, 1))
    await _scan(sessionmaker, clock, rules)
    assert await _keys(sessionmaker, "remind:") == [
        f"remind:{item.id}:1d",
        f"remind:{item.id}:1d@r1",
    ]


async def test_assignments_scheduled_at_creation_get_the_same_reminders(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=1)
    deadline = sh(2026, 11, 20, 18)
    first = reminders.first_remind_at(deadline, ("3d", "1d"), rules, clock.now())
    assert first == sh(2026, 11, 17, 8, 0)
    _, (item,) = await _task(
        sessionmaker, clock, world, deadline, reminder_offsets=("3d", "1d"), remind_at=first
    )
    assert (await _scan(sessionmaker, clock, rules)).looked_at == 0  # nothing to do yet
    clock.set(sh(2026, 11, 19, 8, 0))
    assert (await _scan(sessionmaker, clock, rules)).reminders == 1
    assert await _keys(sessionmaker, "remind:") == [f"remind:{item.id}:1d"]


async def test_the_scan_reads_assignments_that_share_a_decision_as_one_group(
    sessionmaker, clock, rules
):
    """One task's villages with the same status, deadline, cursor and round come as one group
    (ids ascending, assignees in step); a returned one is apart, its round counted."""
    world = await make_world(sessionmaker, clock.now(), townships=1, villages_per_township=3)
    deadline = sh(2026, 11, 20, 18)
    _, items = await _task(sessionmaker, clock, world, deadline)
    clock.set(sh(2026, 11, 17, 8, 1))
    assert (await _scan(sessionmaker, clock, rules)).reminders == 3
    back = items[1]
    async with sessionmaker() as s, s.begin():
        await task_store.submit(s, back.id, back.assignee_id, clock.now(), texts=["好"], photos=[])
        await task_store.return_(
            s,
            back.id,
            world.people["county0"].id,
            world.county.id,
            clock.now(),
            reason="照片不清楚",
            deadline=deadline,
        )
    nxt = sh(2026, 11, 19, 8, 0)  # the "1d" entry
    async with sessionmaker() as s:
        (due,) = await reminders.store.due(s, nxt, 100)
        (returned,) = await reminders.store.unscheduled(s, 100)
    kept = sorted((i for i in items if i.id != back.id), key=lambda i: i.id)
    assert due.ids == [i.id for i in kept]
    assert due.assignees == [i.assignee_id for i in kept]
    assert (due.status, due.deadline, due.cursor, due.returns) == ("pending", deadline, nxt, 0)
    assert due.deadline.utcoffset() == timedelta(0)
    assert (returned.ids, returned.status, returned.returns) == ([back.id], "returned", 1)
