"""The send-time check: a task push or reminder whose assignment is no longer open is marked
cancelled by the worker instead of sent, even when its row was still pending."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from core import keys
from storage import outbox
from storage.models import Assignment, OutboxMessage
from tasks.delivery import Delivery
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.tasks.test_delivery import FakeSender


async def test_worker_drops_a_push_whose_assignment_was_cancelled_after_claim(
    sessionmaker, clock, rules
):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "sec1", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "给 2 个村" in await chat.dispatch(
        "county0", "发任务 核对低保名单 / 截止 本周五 / 范围 东岭镇"
    )
    async with sessionmaker() as s, s.begin():
        a0, a1 = list(await s.scalars(sa.select(Assignment).order_by(Assignment.id)))
    # A worker claims both pushes and dies before sending; the task is withdrawn meanwhile
    # (the row cancel skips a row being sent), and the lease runs out.
    async with sessionmaker() as s, s.begin():
        claimed = await outbox.claim_due(s, now=clock.now(), worker="dead", limit=10)
        assert {c.idempotency_key for c in claimed} == {
            keys.task_push(a0.id),
            keys.task_push(a1.id),
        }
    async with sessionmaker() as s, s.begin():
        row = await s.get(Assignment, a0.id)
        row.status = "cancelled"  # a0's village only (the task's other village keeps it)
        await outbox.enqueue(
            s,
            recipient_id=world.people["sec0"].id,
            body={"text": "提醒"},
            key=keys.reminder(a0.id, "1d"),
            now=clock.now(),
        )
        # A notice about the item (not a push of the work) still goes out.
        await outbox.enqueue(
            s,
            recipient_id=world.people["sec0"].id,
            body={"text": "已撤销"},
            key=keys.task_cancelled(a0.id),
            now=clock.now(),
        )
    clock.advance(timedelta(minutes=5))
    sender = FakeSender(clock, name="test")
    worker = Delivery(sessionmaker, clock, rules, {"test": sender}, heartbeat=60)
    while await worker.run_once():
        pass
    async with sessionmaker() as s:
        rows = {r.idempotency_key: r.status for r in await s.scalars(sa.select(OutboxMessage))}
    assert rows[keys.task_push(a0.id)] == "cancelled"
    assert rows[keys.reminder(a0.id, "1d")] == "cancelled"
    assert rows[keys.task_cancelled(a0.id)] == "sent"
    assert rows[keys.task_push(a1.id)] == "sent"
    assert sorted(c[0] for c in sender.calls) == ["sec0", "sec1"]  # the notice and a1's push
