"""撤销任务 through the chat: asked first, allowed to the creator and county admins, the creator
and the villages told, nothing of a withdrawn task delivered, and buttons on a withdrawn or
approved item answering its real state."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from core.payloads import WithdrawConfirm, WithdrawKeep
from storage import people
from storage.models import Assignment, OutboxMessage, Task
from tasks.delivery import Delivery
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.tasks.test_delivery import FakeSender

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _setup(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        world.people["admin"] = await people.add(
            s, name="县管理员", role="admin", region_id=world.county.id, now=clock.now()
        )
    for key in ("sec0", "sec1", "sec2", "sec3", "county0", "county1", "admin"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    return world, ChatDriver(sessionmaker, clock, rules)


async def _send_task(sessionmaker, chat, title="核对低保名单", scope="石门村"):
    assert "给 1 个村" in await chat.dispatch(
        "county0", f"发任务 {title} / 截止 本周五 / 范围 {scope}"
    )
    async with sessionmaker() as s:
        task = await s.scalar(sa.select(Task).where(Task.title == title))
        aid = await s.scalar(sa.select(Assignment.id).where(Assignment.task_id == task.id))
    return task.number, task.id, aid


async def _rows(sessionmaker, prefix=""):
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.startswith(prefix))
                .order_by(OutboxMessage.id)
            )
        )


async def _status(sessionmaker, model, id_):
    async with sessionmaker() as s:
        return (await s.get(model, id_)).status


def _texts(replies):
    return "\n".join(r.text for r in replies)


async def _deliver(sessionmaker, clock, rules):
    sender = FakeSender(clock, name="test")
    worker = Delivery(sessionmaker, clock, rules, {"test": sender}, heartbeat=60)
    while await worker.run_once():
        pass
    return sender


async def test_cancel_asks_for_confirmation_first(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    n, tid, aid = await _send_task(sessionmaker, chat)
    (ask,) = await chat.send("county0", f"撤销任务 {n}")
    assert "确定撤销" in ask.text and [b.label for b in ask.buttons] == ["确认撤销", "不撤销"]
    assert await _status(sessionmaker, Task, tid) == "active"
    assert "没有撤销" in _texts(await chat.press("county0", WithdrawKeep(n).pack()))
    assert await _status(sessionmaker, Assignment, aid) == "pending"
    done = _texts(await chat.press("county0", WithdrawConfirm(n).pack()))
    assert "已撤销任务「核对低保名单」" in done
    assert await _status(sessionmaker, Task, tid) == "cancelled"
    assert await _status(sessionmaker, Assignment, aid) == "cancelled"
    (push,) = await _rows(sessionmaker, f"task:{aid}")
    assert push.status == "cancelled"
    # A second confirm (a stale button) says it is done already and changes nothing.
    assert "已经撤销过了" in _texts(await chat.press("county0", WithdrawConfirm(n).pack()))


async def test_only_creator_or_admin_may_cancel(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    n, tid, _ = await _send_task(sessionmaker, chat)
    refused = await chat.say("county1", f"撤销任务 {n}")
    assert "只有发任务的人或县管理员可以撤销" in refused
    # Even a crafted confirm button from another staff member changes nothing.
    await chat.press("county1", WithdrawConfirm(n).pack())
    assert await _status(sessionmaker, Task, tid) == "active"
    assert "不能使用" in await chat.say("sec0", f"撤销任务 {n}")
    assert "确定撤销" in await chat.say("admin", f"撤销任务 {n}")
    assert "已撤销" in _texts(await chat.press("admin", WithdrawConfirm(n).pack()))
    assert await _status(sessionmaker, Task, tid) == "cancelled"


async def test_creator_is_told_when_an_admin_cancels(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    n, tid, aid = await _send_task(sessionmaker, chat)
    sent = await _deliver(sessionmaker, clock, rules)  # 10:00: the push goes out
    assert [c[0] for c in sent.calls] == ["sec0"]
    await chat.press("admin", WithdrawConfirm(n).pack())
    (told,) = await _rows(sessionmaker, f"cancel:{tid}:creator")
    assert told.recipient_id == world.people["county0"].id
    assert "县管理员" in told.body["text"] and "核对低保名单" in told.body["text"]
    (village,) = await _rows(sessionmaker, f"task:{aid}:cancelled")
    assert village.recipient_id == world.people["sec0"].id
    assert "任务「核对低保名单」已撤销，无需办理" in village.body["text"]
    # The creator cancelling their own task is not told about it.
    n2, tid2, _ = await _send_task(sessionmaker, chat, title="统计春耕")
    await chat.press("county0", WithdrawConfirm(n2).pack())
    assert await _rows(sessionmaker, f"cancel:{tid2}:") == []


async def test_cancelled_task_in_quiet_hours_is_never_delivered(sessionmaker, clock, rules):
    clock.set(datetime(2026, 11, 10, 23, 0, tzinfo=SHANGHAI))
    _, chat = await _setup(sessionmaker, clock, rules)
    n, tid, aid = await _send_task(sessionmaker, chat)
    assert "确定撤销" in await chat.say("county0", f"撤销任务 {n}")
    await chat.press("county0", WithdrawConfirm(n).pack())
    clock.set(datetime(2026, 11, 11, 8, 0, tzinfo=SHANGHAI))  # past 07:30
    sent = await _deliver(sessionmaker, clock, rules)
    to_village = [c for c in sent.calls if c[0] == "sec0"]
    assert to_village == []  # never received, so nothing to withdraw either
    assert {r.status for r in await _rows(sessionmaker, f"task:{aid}")} == {"cancelled"}
    assert {r.status for r in await _rows(sessionmaker, f"remind:{aid}:")} <= {"cancelled"}


async def test_ack_on_a_cancelled_task_answers_its_real_state(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    n, tid, aid = await _send_task(sessionmaker, chat)
    await chat.press("county0", WithdrawConfirm(n).pack())
    ack = _texts(await chat.press("sec0", f"item:ack:t:{n}"))
    assert ack == "任务「核对低保名单」已撤销，无需办理。"
    done = _texts(await chat.press("sec0", f"item:done:t:{n}"))
    assert done == "任务「核对低保名单」已撤销，无需办理。"
    assert "已撤销" in await chat.say("sec0", f"提交 {n} 已核对")


async def test_ack_on_an_approved_task_answers_its_real_state(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    n, _, aid = await _send_task(sessionmaker, chat)
    assert "等待审核" in await chat.say("sec0", f"提交 {n} 已核对完毕")
    assert "已通过" in await chat.say("county0", f"通过 {n}")
    ack = _texts(await chat.press("sec0", f"item:ack:t:{n}"))
    assert ack == "「核对低保名单」已通过审核，不需要再提交。"
    done = _texts(await chat.press("sec0", f"item:done:t:{n}"))
    assert done == "「核对低保名单」已通过审核，不需要再提交。"
