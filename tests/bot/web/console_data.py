"""A small county with a month of facts for the console tests: households (one never
visited, one last visited 40 days ago), visits, a county task with villages in every state,
an open problem, a pending question, a dead letter, people bound and not."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from core.clock import FixedClock
from core.numbers import Series
from core.rules import Rules
from services import tasks as task_service
from storage import counters, outbox
from storage.models import Assignment, Household, OutboxMessage, Problem, Question, Visit
from tests.factories import World, add_county, add_household, bind, make_world

QUOTAS = {"监测户": 2, "脱贫户": 1, "一般户": 0}


@dataclass
class Facts:
    world: World
    away: World
    task_id: int = 0
    away_task_id: int = 0
    households: dict[str, int] = field(default_factory=dict)


async def _visit(s, h: Household, visitor: int, at, checklist=None, note=None) -> None:
    s.add(
        Visit(
            household_id=h.id,
            village_id=h.village_id,
            visitor_id=visitor,
            visited_at=at,
            month=f"{at.astimezone(Rules().timezone):%Y-%m}",
            day=at.astimezone(Rules().timezone).date(),
            checklist=checklist or {},
            note=note,
            status="active",
            created_at=at,
            updated_at=at,
        )
    )
    await s.flush()


async def populate(sm: async_sessionmaker, clock: FixedClock, rules: Rules) -> Facts:
    now = clock.now()
    world = await make_world(sm, now)
    away = await add_county(sm, now)
    facts = Facts(world, away)
    v = world.villages
    people = world.people
    async with sm() as s, s.begin():
        # 石门村 (v0): 2 of 3 due households met; 柳树村 (v1): 0 of 2; 杏花村 (v2): 1 of 1.
        h = {}
        h["v0a"] = await add_household(s, v[0].id, "A001", "王大", "监测户", now)
        h["v0b"] = await add_household(s, v[0].id, "A002", "李二", "脱贫户", now)
        h["v0c"] = await add_household(s, v[0].id, "A003", "张三", "脱贫户", now)
        h["v1a"] = await add_household(
            s, v[1].id, "B001", "赵四", "监测户", now, members=4, phone="13812345678"
        )
        h["v1b"] = await add_household(s, v[1].id, "B002", "钱五", "脱贫户", now)
        h["v2a"] = await add_household(s, v[2].id, "C001", "孙六", "脱贫户", now)
        h["v3a"] = await add_household(s, v[3].id, "D001", "周七", "一般户", now)
        h["away"] = await add_household(s, away.villages[0].id, "Z001", "外户", "脱贫户", now)
        # v0a twice, on two days: visits count toward the quota once a day
        for key, days in (("v0a", 2), ("v0a", 1), ("v0b", 2), ("v2a", 2), ("away", 2)):
            await _visit(s, h[key], people["sec0"].id, now - timedelta(days=days))
        await _visit(
            s,
            h["v1a"],
            people["sec1"].id,
            now - timedelta(days=3),
            checklist={
                "water": {"status": "ok"},
                "housing": {"status": "problem", "text": "屋顶漏雨，房东电话13900001111"},
            },
            note="户主儿子电话13700002222",
        )
        await _visit(s, h["v0c"], people["sec0"].id, now - timedelta(days=40))  # October
        facts.households = {k: x.id for k, x in h.items()}

        draft = task_service.TaskDraft(
            kind="task", title="核查饮水安全", deadline=now + timedelta(days=3)
        )
        made = await task_service.create_task(s, people["county0"], draft, now=now, rules=rules)
        facts.task_id = made.task.number  # the public number the console's URLs carry
        rows = {i.village_id: i.id for i in made.items}
        states = {v[0].id: "approved", v[1].id: "acked", v[2].id: "pending", v[3].id: "returned"}
        for vid, status in states.items():
            await s.execute(
                sa.update(Assignment).where(Assignment.id == rows[vid]).values(status=status)
            )
        # 杏花村's copy is overdue.
        await s.execute(
            sa.update(Assignment)
            .where(Assignment.id == rows[v[2].id])
            .values(deadline=now - timedelta(hours=1))
        )
        # The other county's numbers start further on, so they name nothing at home.
        for _ in range(10):
            await counters.next_number(s, away.county.id, Series.TASK)
        away_made = await task_service.create_task(
            s,
            away.people["county"],
            task_service.TaskDraft(kind="notice", title="外县通知"),
            now=now,
            rules=rules,
        )
        facts.away_task_id = away_made.task.number

        s.add(
            Problem(
                county_id=world.county.id,
                number=await counters.next_number(s, world.county.id, Series.PROBLEM),
                household_id=h["v1a"].id,
                village_id=v[1].id,
                kind="住房安全",
                description="屋顶漏雨",
                status="open",
                found_at=now - timedelta(days=20),
            )
        )
        s.add(
            Question(
                asked_by=people["sec1"].id,
                county_id=world.county.id,
                text="雨露计划怎么申请",
                status="pending",
                created_at=now,
            )
        )
        await outbox.enqueue(
            s, recipient_id=people["sec3"].id, body={"text": "通知"}, key="dead:1", now=now
        )
        await s.execute(
            sa.update(OutboxMessage)
            .where(OutboxMessage.idempotency_key == "dead:1")
            .values(status="dead")
        )
    for key in ("sec0", "sec1", "town0", "county0"):
        await bind(sm, people[key], "test", f"ext-{key}", now)
    return facts
