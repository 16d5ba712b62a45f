"""One public number per thing, through the conversation core: the county's task number is the
number every village sees, types and presses; reviewers name "task 3 for 石门村"; a problem
and its rectification item share one number; buttons made before numbers are stale."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa

from bot.reports import problem_rows
from handlers import texts
from storage.models import Assignment, Audit, OutboxMessage, Problem, Task
from tasks import digest, reminders
from tests.chat import ChatDriver
from tests.factories import add_county, add_household, bind, make_world

SHANGHAI = ZoneInfo("Asia/Shanghai")
SECRETARIES = ("sec0", "sec1", "sec2", "sec3")


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    for key in (*SECRETARIES, "county0", "town0"):
        await bind(sessionmaker, w.people[key], "test", key, clock.now())
    return w


@pytest.fixture
def chat(sessionmaker, clock, rules, world) -> ChatDriver:
    return ChatDriver(sessionmaker, clock, rules)


def _texts(replies) -> str:
    return "\n".join(r.text for r in replies)


async def _items(sessionmaker, number: int) -> dict[str, Assignment]:
    """village name -> its assignment of the county's task ``number``."""
    from storage.models import Region

    async with sessionmaker() as s:
        rows = await s.execute(
            sa.select(Region.name, Assignment)
            .join(Assignment, Assignment.village_id == Region.id)
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.number == number, Task.kind != "rectify")
        )
        return {name: a for name, a in rows}


async def _pushes_to(sessionmaker, person_id: int) -> list[OutboxMessage]:
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.recipient_id == person_id)
                .order_by(OutboxMessage.id)
            )
        )


async def test_county_number_is_the_number_every_village_sees(chat, world, sessionmaker):
    # Two earlier tasks, so the villages' shares of the third have other row ids everywhere.
    await chat.dispatch("county0", "发任务 核对名单 / 截止 本周五 / 范围 石门村")
    await chat.dispatch("county0", "发通知 冬季防火 / 内容 注意用电 / 范围 柳树村、杏花村")
    sent = await chat.dispatch("county0", "发任务 上报危房改造进度 / 截止 本周五 / 范围 全县")
    assert "（任务 3）" in sent and "给 4 个村" in sent
    items = await _items(sessionmaker, 3)
    assert len({a.id for a in items.values()}) == 4 and 3 not in {a.id for a in items.values()}
    for key in SECRETARIES:
        me = world.people[key]
        [push] = [
            p for p in await _pushes_to(sessionmaker, me.id) if "上报危房改造进度" in p.body["text"]
        ]
        assert "任务 3" in push.body["text"] and "提交 3" in push.body["text"]
        assert [b["payload"] for b in push.body["buttons"]] == ["item:ack:t:3", "item:done:t:3"]
        assert "assignment" not in push.body.get("meta", {})
        assert "任务 3｜上报危房改造进度" in await chat.say(key, "任务")
        assert "任务 3：上报危房改造进度" in await chat.say(key, "任务 3")
        assert "等待审核" in await chat.say(key, "提交 3 已上报")
    waiting = await chat.say("county0", "待审核")
    for village in ("石门村", "柳树村", "杏花村", "河湾村"):
        assert f"任务 3｜{village}｜上报危房改造进度" in waiting
    assert {a.status for a in (await _items(sessionmaker, 3)).values()} == {"submitted"}
    progress = await chat.say("county0", "进度 3")
    assert "（任务 3）" in progress and "待审核 4" in progress


async def test_approve_by_task_number_and_village_name(chat, world, sessionmaker):
    await chat.dispatch("county0", "发任务 张贴明白纸 / 截止 本周五 / 范围 东岭镇")
    for key in ("sec0", "sec1"):
        assert "等待审核" in await chat.say(key, "提交 1 已张贴")
    # Two villages waiting: 通过 1 alone asks which, and approves nothing.
    [ask] = await chat.send("county0", "通过 1")
    assert "2 个村" in ask.text and [b.label for b in ask.buttons] == ["石门村", "柳树村"]
    assert {a.status for a in (await _items(sessionmaker, 1)).values()} == {"submitted"}
    approved = await chat.say("county0", "通过 1 石门村")
    assert approved == "已通过 石门村 的「张贴明白纸」（任务 1）。"
    items = await _items(sessionmaker, 1)
    assert (items["石门村"].status, items["柳树村"].status) == ("approved", "submitted")
    [told] = [
        p
        for p in await _pushes_to(sessionmaker, world.people["sec0"].id)
        if "审核通过" in p.body["text"]
    ]
    assert "任务 1" in told.body["text"]
    # One village left waiting: the number is enough.
    assert "已通过 柳树村" in await chat.say("county0", "通过 1")
    assert "现在是「已通过」" in await chat.say("county0", "通过 1 柳树村")
    refused = await chat.say("county0", "通过 1 杏花村")
    assert "任务 1 没有发给「杏花村」" in refused and "石门村" in refused
    assert "没有任务 9" in await chat.say("county0", "通过 9 石门村")


async def test_a_village_button_approves_that_village_only(chat, world, sessionmaker, clock):
    await chat.dispatch("county0", "发任务 张贴明白纸 / 截止 本周五 / 范围 东岭镇")
    for key in ("sec0", "sec1"):
        await chat.say(key, "提交 1 已张贴")
    [ask] = await chat.send("county0", "通过 1")
    [liushu] = [b for b in ask.buttons if b.label == "柳树村"]
    assert "已通过 柳树村" in _texts(await chat.press("county0", liushu.payload))
    items = await _items(sessionmaker, 1)
    assert (items["石门村"].status, items["柳树村"].status) == ("submitted", "approved")
    # The same button from a township officer of another township is stale (and audited).
    await bind(sessionmaker, world.people["town1"], "test", "town1", clock.now())
    assert _texts(await chat.press("town1", liushu.payload)) == texts.STALE_BUTTON


async def test_return_with_several_waiting_asks_the_village_and_keeps_the_reason(
    chat, world, sessionmaker
):
    await chat.dispatch("county0", "发任务 张贴明白纸 / 截止 本周五 / 范围 东岭镇")
    for key in ("sec0", "sec1"):
        await chat.say(key, "提交 1 已张贴")
    [ask] = await chat.send("county0", "退回 1 照片看不清 / 截止 本周五")
    assert "要退回的村" in ask.text and [b.label for b in ask.buttons] == ["石门村", "柳树村"]
    # Typing a button's label is pressing it.
    returned = await chat.say("county0", "柳树村")
    assert "已退回 柳树村 的「张贴明白纸」（任务 1），新截止 11月13日" in returned
    items = await _items(sessionmaker, 1)
    assert (items["石门村"].status, items["柳树村"].status) == ("submitted", "returned")
    assert items["柳树村"].return_reason == "照片看不清"
    [back] = [
        p
        for p in await _pushes_to(sessionmaker, world.people["sec1"].id)
        if "退回" in p.body["text"]
    ]
    assert "任务 1" in back.body["text"] and "提交 1" in back.body["text"]
    # Naming the village returns it at once.
    assert "已退回 石门村" in await chat.say("county0", "退回 1 石门村 材料不全")
    assert (await _items(sessionmaker, 1))["石门村"].return_reason == "材料不全"


async def test_township_reviews_its_own_task_by_the_county_number(chat, world, sessionmaker):
    await chat.dispatch("county0", "发任务 县里的任务 / 截止 本周五 / 范围 石门村")
    sent = await chat.dispatch("town0", "发任务 镇里的任务 / 截止 本周五 / 范围 石门村")
    assert "（任务 2）" in sent  # one series per county, whoever sends
    assert "任务 2｜镇里的任务" in await chat.say("sec0", "任务")
    await chat.say("sec0", "提交 2 已办")
    await chat.say("sec0", "提交 1 已办")
    assert "没有任务 1" in await chat.say("town0", "通过 1")  # the county's own task
    assert "已通过 石门村 的「镇里的任务」（任务 2）" in await chat.say("town0", "通过 2")


async def test_old_assignment_button_is_refused_as_stale(chat, world, sessionmaker):
    await chat.dispatch("county0", "发任务 核对名单 / 截止 本周五 / 范围 东岭镇")
    items = await _items(sessionmaker, 1)
    shimen = items["石门村"]
    # Buttons made before public numbers carried row ids: never acted on, whatever now has
    # that number, and answered (and audited) as stale.
    for old in (f"task:ack:{shimen.id}", f"task:done:{shimen.id}", f"task:send:{shimen.id}"):
        assert _texts(await chat.press("sec0", old)) == texts.STALE_BUTTON
    await chat.say("sec0", "提交 1 已核对")
    await chat.say("sec1", "提交 1 已核对")
    assert _texts(await chat.press("county0", f"review:ok:{shimen.id}")) == texts.STALE_BUTTON
    assert (
        _texts(await chat.press("county0", f"tcancel:yes:{shimen.task_id}")) == texts.STALE_BUTTON
    )
    assert {a.status for a in (await _items(sessionmaker, 1)).values()} == {"submitted"}
    async with sessionmaker() as s:
        assert (await s.get(Task, shimen.task_id)).status == "active"
        refused = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "refused")
        )
    assert refused == 5
    # A forged series letter or a number of nothing is stale too.
    assert _texts(await chat.press("sec0", "item:ack:x:1")) == texts.STALE_BUTTON
    assert _texts(await chat.press("sec0", "item:ack:t:99")) == texts.STALE_BUTTON


async def test_rectification_item_carries_its_problems_number(
    chat, world, sessionmaker, clock, rules
):
    async with sessionmaker() as s, s.begin():
        for code, head in (("HH1", "王三女"), ("HH2", "李四")):
            await add_household(s, world.villages[0].id, code, head, "监测户", clock.now())
    await chat.dispatch("county0", "发任务 核对名单 / 截止 本周五 / 范围 石门村")  # 任务 1
    for head in ("王三女", "李四"):
        await chat.send("sec0", f"走访 {head} 房子屋顶漏雨")
        saved = _texts(await chat.press("sec0", "visit:confirm"))
        assert "问题 1" in saved if head == "王三女" else "问题 2" in saved
    async with sessionmaker() as s:
        problems = (await s.scalars(sa.select(Problem).order_by(Problem.id))).all()
        rectify = {
            t.id: t.number for t in await s.scalars(sa.select(Task).where(Task.kind == "rectify"))
        }
        task_of = {a.id: a.task_id for a in await s.scalars(sa.select(Assignment))}
    assert [p.number for p in problems] == [1, 2]
    assert [rectify[task_of[p.assignment_id]] for p in problems] == [1, 2]  # one number each
    listed = await chat.say("sec0", "任务")
    assert "问题 1｜[整改] 整改：王三女 住房安全" in listed and "任务 1｜核对名单" in listed
    assert "整改完成 编号" in listed
    assert "问题 1 王三女" in await chat.say("sec0", "问题")
    # The rectification's reminder names the problem and how to close it.
    clock.set(datetime(2026, 11, 22, 8, 1, tzinfo=SHANGHAI))  # 3 days before its deadline
    async with sessionmaker() as s, s.begin():
        await reminders.enqueue_due_reminders(s, clock.now(), rules)
    [remind] = [
        p
        for p in await _pushes_to(sessionmaker, world.people["sec0"].id)
        if p.idempotency_key.startswith("remind:") and "王三女" in p.body["text"]
    ]
    assert "问题 1" in remind.body["text"] and "整改完成 1" in remind.body["text"]
    assert [b["payload"] for b in remind.body["buttons"]] == ["item:ack:p:1", "item:done:p:1"]
    # 已完成 on a fix points to 整改完成: a fix goes to township or county review as its
    # problem, never offered as a task to approve (通过 N names tasks).
    assert "整改完成 1" in _texts(await chat.press("sec0", "item:done:p:1"))
    # The ledger's problem list carries the same numbers.
    async with sessionmaker() as s:
        rows = await problem_rows(s, [world.villages[0].id], "2026-11", SHANGHAI)
    assert [r[0] for r in rows] == [1, 2]


async def test_morning_digest_names_items_by_their_numbers(chat, world, sessionmaker, clock, rules):
    await chat.dispatch("county0", "发通知 冬季防火 / 内容 注意用电 / 范围 石门村")
    await chat.dispatch("county0", "发任务 上报人数 / 截止 今天 / 范围 石门村")
    clock.set(datetime(2026, 11, 10, 7, 30, tzinfo=SHANGHAI))
    async with sessionmaker() as s, s.begin():
        await digest.enqueue_morning(s, clock.now(), rules)
    [morning] = [
        p
        for p in await _pushes_to(sessionmaker, world.people["sec0"].id)
        if p.idempotency_key.startswith("digest:")
    ]
    assert "任务 2｜上报人数" in morning.body["text"]
    assert "通知 1｜冬季防火" in morning.body["text"]


async def test_task_numbers_belong_to_each_county(chat, world, sessionmaker, clock):
    away = await add_county(sessionmaker, clock.now())
    await bind(sessionmaker, away.people["county"], "test", "away", clock.now())
    await bind(sessionmaker, away.people["sec"], "test", "away-sec", clock.now())
    await chat.dispatch("county0", "发任务 本县一 / 截止 本周五 / 范围 石门村")
    await chat.dispatch("county0", "发任务 本县二 / 截止 本周五 / 范围 石门村")
    assert "（任务 1）" in await chat.dispatch("away", "发任务 邻县一 / 截止 本周五 / 范围 外村")
    assert "邻县一" in await chat.say("away-sec", "任务 1")
    assert "本县一" in await chat.say("sec0", "任务 1")
    assert "本县二" not in await chat.say("away", "进度 2")  # another county's 2: unknown here
