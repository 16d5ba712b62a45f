"""Daily digests: content, personal hours, catch-up after downtime, and exactly one per person
per day with two schedulers (two engines, as two processes would have) at once."""

from __future__ import annotations

import asyncio
from datetime import datetime

import sqlalchemy as sa

from storage import db, outbox, people
from storage import tasks as task_store
from storage.models import Household, OutboxMessage, Problem, Question, Task, Visit
from tasks.digest_texts import FOOT_OFF
from tasks.scheduler import Scheduler
from tests.conftest import SHANGHAI
from tests.factories import add_household, make_world


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _digests(sessionmaker, kind="morning"):
    async with sessionmaker() as s:
        rows = await s.scalars(
            sa.select(OutboxMessage).where(
                OutboxMessage.idempotency_key.startswith(f"digest:{kind}:")
            )
        )
        return {r.recipient_id: r for r in rows}


async def _visit(s, household, visitor, at):
    s.add(
        Visit(
            household_id=household.id,
            village_id=household.village_id,
            visitor_id=visitor,
            visited_at=at,
            month=f"{at.astimezone(SHANGHAI):%Y-%m}",
            day=at.astimezone(SHANGHAI).date(),
            checklist={},
            created_at=at,
            updated_at=at,
        )
    )
    await s.flush()


async def _scenario(sessionmaker, clock):
    """Village 0: one task due today, one overdue, one returned, one unread notice, and two
    monitored households (quota 3), one visited three times."""
    world = await make_world(sessionmaker, clock.now())
    sec0 = world.people["sec0"]
    county0 = world.people["county0"]
    v0 = world.villages[0]
    async with sessionmaker() as s, s.begin():
        for title, deadline in (
            ("今天交表", sh(2026, 11, 12, 17)),
            ("早该交的", sh(2026, 11, 11, 18)),
        ):
            await task_store.create_task(
                s,
                kind="task",
                title=title,
                created_by=county0.id,
                county_id=world.county.id,
                village_ids=[v0.id],
                now=clock.now(),
                deadline=deadline,
            )
        _, (ret,) = await task_store.create_task(
            s,
            kind="task",
            title="重拍照片",
            created_by=county0.id,
            county_id=world.county.id,
            village_ids=[v0.id],
            now=clock.now(),
            deadline=sh(2026, 11, 11, 18),
        )
        await task_store.submit(s, ret.id, sec0.id, clock.now(), texts=["x"], photos=[])
        await task_store.return_(
            s,
            ret.id,
            county0.id,
            world.county.id,
            clock.now(),
            reason="模糊",
            deadline=sh(2026, 11, 14, 18),
        )
        await task_store.create_task(
            s,
            kind="notice",
            title="冬季防火",
            created_by=county0.id,
            county_id=world.county.id,
            village_ids=[v.id for v in world.villages],
            now=clock.now(),
        )
        done = await add_household(s, v0.id, "H1", "王大", "监测户", clock.now())
        await add_household(s, v0.id, "H2", "李二", "监测户", clock.now())
        await add_household(s, world.villages[1].id, "H3", "赵三", "一般户", clock.now())
        for day in (3, 5, 9):
            await _visit(s, done, sec0.id, sh(2026, 11, day, 10))
    return world


async def test_morning_digest_lists_what_the_secretary_must_do(sessionmaker, clock, rules):
    world = await _scenario(sessionmaker, clock)
    clock.set(sh(2026, 11, 12, 7, 31))
    result = await Scheduler(sessionmaker, clock, rules).tick()
    assert result.morning == 4  # one per secretary
    text = (await _digests(sessionmaker))[world.people["sec0"].id].body["text"]
    assert "今天到期 1 项" in text and "今天交表" in text
    assert "已逾期 1 项" in text and "早该交的" in text
    assert "被退回需重办 1 项" in text and "重拍照片" in text
    assert "未读通知 1 项" in text and "冬季防火" in text
    assert "本月还需走访 1 户" in text and "李二（0/3）" in text and "王大" not in text


async def test_morning_digest_lists_task_due_in_two_days(sessionmaker, clock, rules):
    world = await _scenario(sessionmaker, clock)
    async with sessionmaker() as s, s.begin():
        _, (soon,) = await task_store.create_task(
            s,
            kind="task",
            title="危房改造进度",
            created_by=world.people["county0"].id,
            county_id=world.county.id,
            village_ids=[world.villages[0].id],
            now=clock.now(),
            deadline=sh(2026, 11, 14, 18),  # two days after the digest's morning
        )
        _, (later,) = await task_store.create_task(
            s,
            kind="task",
            title="年底总结",
            created_by=world.people["county0"].id,
            county_id=world.county.id,
            village_ids=[world.villages[0].id],
            now=clock.now(),
            deadline=sh(2026, 11, 20, 18),  # beyond the three days: not yet
        )
    async with sessionmaker() as s:
        notice = await s.scalar(sa.select(Task.number).where(Task.title == "冬季防火"))
    clock.set(sh(2026, 11, 12, 7, 31))
    await Scheduler(sessionmaker, clock, rules).tick()
    digests = await _digests(sessionmaker)
    text = digests[world.people["sec0"].id].body["text"]
    assert "即将到期（3 天内）1 项" in text
    n = soon.task_number
    assert f"任务 {n}｜危房改造进度（截止 11月14日 18:00）｜提交 {n}" in text
    assert "年底总结" not in text
    # Every task line carries its command; the notice the command that shows it.
    for line in text.splitlines():
        if "今天交表" in line or "早该交的" in line or "重拍照片" in line:
            assert "｜提交 " in line, line
        if "冬季防火" in line:
            assert "｜任务 " in line, line
    # The closing hint matches what is listed: households to visit, no "see all tasks".
    foot = text.splitlines()[-1]
    assert "发送「任务」查看全部" not in foot and "走访 户主姓名" in foot
    # A village with only a notice and no household due: no task list, no visit hint.
    other = digests[world.people["sec2"].id].body["text"].splitlines()
    assert other[1:] == ["未读通知 1 项：", f"  · 通知 {notice}｜冬季防火｜任务 {notice}", FOOT_OFF]
    assert later.task_number != soon.task_number


async def test_personal_hour_and_off_are_respected(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await people.set_prefs(s, world.people["sec0"].id, morning_digest="09:00")
        await people.set_prefs(s, world.people["sec1"].id, morning_digest_off=True)
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 11, 7, 0))
    assert await scheduler.morning_tick() == 0
    clock.set(sh(2026, 11, 11, 7, 30))
    assert await scheduler.morning_tick() == 2  # sec2, sec3
    clock.set(sh(2026, 11, 11, 9, 0))
    assert await scheduler.morning_tick() == 1  # sec0 at its own hour
    got = await _digests(sessionmaker)
    assert world.people["sec1"].id not in got and len(got) == 3


async def test_missed_morning_is_caught_up_once_after_downtime(sessionmaker, clock, rules):
    await make_world(sessionmaker, clock.now())
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 11, 11, 40))  # the service was down from 07:00 to 11:40
    assert await scheduler.morning_tick() == 4
    for _ in range(3):
        clock.advance(minutes=1)
        assert await scheduler.morning_tick() == 0
    clock.set(sh(2026, 11, 12, 7, 30))
    assert await scheduler.morning_tick() == 4  # a new day, a new digest


async def test_two_schedulers_on_separate_engines_queue_each_digest_once(
    sessionmaker, clock, rules, database_url, pooler
):
    world = await _scenario(sessionmaker, clock)
    engines = [db.make_engine(database_url, pooler=pooler) for _ in range(2)]
    try:
        schedulers = [Scheduler(db.make_sessionmaker(e), clock, rules) for e in engines]
        clock.set(sh(2026, 11, 12, 8, 0))
        for _ in range(3):
            await asyncio.gather(*(s.tick() for s in schedulers))
        clock.set(sh(2026, 11, 12, 20, 1))
        for _ in range(3):
            await asyncio.gather(*(s.tick() for s in schedulers))
    finally:
        for e in engines:
            await e.dispose()
    async with sessionmaker() as s:
        keys = list(
            await s.scalars(
                sa.select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.startswith("digest:")
                )
            )
        )
    assert len(keys) == len(set(keys)) == 4 + 2  # 4 secretaries + 2 county staff
    assert sum(1 for k in keys if k.startswith("digest:evening:")) == 2
    assert {k.rsplit(":", 1)[1] for k in keys} == {"20261112"}
    assert world.people["county0"].id in await _digests(sessionmaker, "evening")


async def test_evening_digest_summarizes_the_county_day(sessionmaker, clock, rules):
    world = await _scenario(sessionmaker, clock)
    county0 = world.people["county0"]
    clock.set(sh(2026, 11, 12, 9, 0))
    async with sessionmaker() as s, s.begin():
        households = await s.scalars(sa.text("SELECT id FROM households ORDER BY id"))
        hid = list(households)[1]
        h = await s.get(Household, hid)
        await _visit(s, h, world.people["sec0"].id, sh(2026, 11, 12, 10))
        s.add(
            Problem(
                county_id=world.county.id,
                number=1,
                household_id=hid,
                village_id=h.village_id,
                kind="housing",
                description="屋顶漏雨",
                found_at=sh(2026, 11, 12, 10, 5),
            )
        )
        s.add(
            Question(
                asked_by=world.people["sec1"].id,
                county_id=world.county.id,
                text="低保怎么申请",
                status="pending",
                created_at=clock.now(),
            )
        )
        await task_store.create_task(
            s,
            kind="notice",
            title="今日通知",
            created_by=county0.id,
            county_id=world.county.id,
            village_ids=[v.id for v in world.villages],
            now=clock.now(),
        )
        await outbox.enqueue(
            s, recipient_id=world.people["sec3"].id, body={"text": "x"}, key="x:1", now=clock.now()
        )
        await s.execute(sa.update(OutboxMessage).values(status="undeliverable"))
    clock.set(sh(2026, 11, 12, 20, 0))
    assert await Scheduler(sessionmaker, clock, rules).evening_tick() == 2
    text = (await _digests(sessionmaker, "evening"))[county0.id].body["text"]
    assert "东岭镇：走访 1 户，问题 1 个" in text
    assert "逾期未完成 2 项" in text and "石门村 2 项" in text
    assert "今日发出 1 项任务/通知，确认收到 0/4（0%）" in text
    assert "覆盖率最低" in text and "石门村 50%" in text
    assert "待人工答复的政策问题 1 个" in text
    assert "书记3（没有可用的联系方式 1 条）" in text  # core.statuses.OUTBOX_ZH


async def test_month_end_nudge_goes_once_from_the_25th(sessionmaker, clock, rules):
    world = await _scenario(sessionmaker, clock)
    scheduler = Scheduler(sessionmaker, clock, rules)
    clock.set(sh(2026, 11, 24, 10))
    assert await scheduler.nudge_tick() == 0
    clock.set(sh(2026, 11, 25, 9, 1))
    assert await scheduler.nudge_tick() == 1  # only village 0 has households still due
    clock.set(sh(2026, 11, 27, 9, 1))
    assert await scheduler.nudge_tick() == 0
    async with sessionmaker() as s:
        row = await s.scalar(
            sa.select(OutboxMessage).where(
                OutboxMessage.idempotency_key == f"nudge:visits:{world.people['sec0'].id}:2026-11"
            )
        )
    assert "李二" in row.body["text"]


async def test_scheduler_registers_jobs_that_never_drop_a_misfire(sessionmaker, clock, rules):
    scheduler = Scheduler(sessionmaker, clock, rules)
    aps = scheduler.start()
    try:
        jobs = {j.id: j for j in aps.get_jobs()}
        assert set(jobs) == {"reminders", "catch_up", "morning", "evening", "nudge"}
        assert all(j.misfire_grace_time is None and j.coalesce for j in jobs.values())
    finally:
        scheduler.shutdown()
