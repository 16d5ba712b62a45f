"""Township staff dispatch: 发任务 / 发通知 to the villages of their own township, review what
those villages hand in for the township's tasks, and the county sees those tasks too."""

from __future__ import annotations

import sqlalchemy as sa

from storage.models import Assignment, Audit, OutboxMessage, Task
from tests.chat import ChatDriver
from tests.factories import bind, make_world


async def _setup(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "sec1", "sec2", "sec3", "town0", "town1", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    return world, ChatDriver(sessionmaker, clock, rules)


async def _assignments(sessionmaker) -> list[Assignment]:
    async with sessionmaker() as s:
        return list(await s.scalars(sa.select(Assignment).order_by(Assignment.id)))


async def test_township_officer_sends_a_task_to_own_villages(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    reply = await chat.dispatch("town0", "发任务 核对低保名单 / 截止 12月5日前 / 范围 石门村")
    assert "给 1 个村" in reply
    # 全县 (or no scope) is the whole township for a township officer, never the county.
    assert "给 2 个村" in await chat.dispatch(
        "town0", "发通知 冬季防火 / 内容 注意用电 / 范围 全县"
    )
    # The guided flow too.
    assert "标题" in await chat.say("town0", "发任务")
    await chat.say("town0", "清理河道")
    await chat.say("town0", "清理本村河道垃圾")
    await chat.say("town0", "本周五")
    await chat.say("town0", "柳树村")
    assert "发给：1 个村" in await chat.say("town0", "需要照片")
    assert "给 1 个村" in await chat.say("town0", "确认发送")
    items = await _assignments(sessionmaker)
    own = {world.villages[0].id, world.villages[1].id}
    assert len(items) == 4 and {a.village_id for a in items} <= own
    async with sessionmaker() as s:
        tasks = list(await s.scalars(sa.select(Task)))
        pushes = list(await s.scalars(sa.select(OutboxMessage.recipient_id)))
    assert {t.county_id for t in tasks} == {world.county.id}  # the county, for digests
    assert {t.created_by for t in tasks} == {world.people["town0"].id}
    assert set(pushes) <= {world.people["sec0"].id, world.people["sec1"].id}
    assert "核对低保名单" in await chat.say("sec0", "任务")


async def test_township_officer_cannot_send_to_another_township(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    # 杏花村 is a village of 西川乡: refused (and audited), saying where they may send.
    reply = await chat.say("town0", "发任务 核对低保名单 / 截止 12月5日前 / 范围 杏花村")
    assert "「杏花村」不在东岭镇，乡镇只能给本乡镇的村发任务。" in reply
    assert "河湾村" not in reply
    await chat.say("town0", "取消")
    reply = await chat.say("town0", "发任务 核对低保名单 / 截止 12月5日前 / 范围 西川乡")
    assert "「西川乡」不在东岭镇" in reply
    await chat.say("town0", "取消")
    # A name that is nowhere in the county is still an unknown one, with near names.
    reply = await chat.say("town0", "发任务 核对低保名单 / 截止 12月5日前 / 范围 石门")
    assert "本县没有「石门」" in reply and "石门村" in reply
    await chat.say("town0", "取消")
    assert await _assignments(sessionmaker) == []
    async with sessionmaker() as s:
        refused = list(
            await s.scalars(
                sa.select(Audit.detail).where(
                    Audit.action == "refused", Audit.person_id == world.people["town0"].id
                )
            )
        )
    assert len(refused) == 2


async def test_township_officer_approves_a_submission_of_own_task(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    await chat.dispatch("town0", "发任务 张贴明白纸 / 截止 3天内 / 范围 石门村")
    (item,) = await _assignments(sessionmaker)
    assert "等待" in await chat.say("sec0", "提交 1 已张贴")
    # Another township's officer neither sees nor reviews it.
    assert "张贴明白纸" not in await chat.say("town1", "待审核")
    assert "已通过" not in await chat.say("town1", "通过 1")
    assert "张贴明白纸" in await chat.say("town0", "待审核")
    assert "已通过" in await chat.say("town0", "通过 1")
    (item,) = await _assignments(sessionmaker)
    assert item.status == "approved"


async def test_county_staff_see_township_tasks_in_progress(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    await chat.dispatch("town0", "发任务 东岭的任务 / 截止 3天内 / 范围 石门村")
    await chat.dispatch("town1", "发任务 西川的任务 / 截止 3天内 / 范围 杏花村")
    await chat.dispatch("county0", "发任务 县里的任务 / 截止 3天内 / 范围 河湾村")
    county = await chat.say("county0", "进度")
    assert all(t in county for t in ("东岭的任务", "西川的任务", "县里的任务"))
    town = await chat.say("town0", "进度")
    assert "东岭的任务" in town and "西川的任务" not in town and "县里的任务" not in town
    # The county reviews a township's task as well.
    assert "等待" in await chat.say("sec0", "提交 1 已办")  # 东岭的任务: the county's task 1
    assert "已通过" in await chat.say("county0", "通过 1 石门村")


async def test_township_officer_withdraws_their_own_task_and_no_other(sessionmaker, clock, rules):
    from core.payloads import WithdrawConfirm

    _, chat = await _setup(sessionmaker, clock, rules)
    assert "（任务 1）" in await chat.dispatch(
        "county0", "发任务 县里的任务 / 截止 12月5日前 / 范围 石门村"
    )
    assert "（任务 2）" in await chat.dispatch(
        "town0", "发任务 镇里的任务 / 截止 12月5日前 / 范围 石门村"
    )
    # Their own: asked first, then withdrawn, like the county's 撤销任务.
    assert "确定撤销任务「镇里的任务」" in await chat.say("town0", "撤销任务 2")
    done = "\n".join(r.text for r in await chat.press("town0", WithdrawConfirm(2).pack()))
    assert "已撤销任务「镇里的任务」" in done
    # The county's task, and the other township's officer on this one: like an unknown number
    # (neither the title nor that it exists), and a forged confirm changes nothing.
    for who, n in (("town0", 1), ("town1", 2), ("town1", 1)):
        answer = await chat.say(who, f"撤销任务 {n}")
        assert f"没有本县的任务 {n}" in answer
        assert "县里的任务" not in answer and "镇里的任务" not in answer
        await chat.press(who, WithdrawConfirm(n).pack())
    async with sessionmaker() as s:
        status = dict((await s.execute(sa.select(Task.number, Task.status))).all())
    assert status == {1: "active", 2: "cancelled"}
