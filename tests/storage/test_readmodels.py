"""The read models on a real database: coverage, the county day, dead letters, ledger rows."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from core.rules import QuotaPolicy
from core.statuses import OutboxStatus
from storage import outbox
from storage import tasks as task_store
from storage.models import Household, OutboxMessage, Problem, Visit
from storage.readmodels import coverage, ledger
from storage.readmodels.county_day import Day, county_day
from storage.readmodels.dead_letters import dead_letter_counts, dead_letters
from tests.conftest import SHANGHAI
from tests.factories import add_household, make_world

MONTH = "2026-11"
QUOTAS = QuotaPolicy({"监测户": 3, "脱贫户": 1, "一般户": 0})


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _visit(s, household: Household, visitor: int, at: datetime, status="active") -> None:
    s.add(
        Visit(
            household_id=household.id,
            village_id=household.village_id,
            visitor_id=visitor,
            visited_at=at,
            month=f"{at.astimezone(SHANGHAI):%Y-%m}",
            day=at.astimezone(SHANGHAI).date(),
            checklist={},
            status=status,
            created_at=at,
            updated_at=at,
        )
    )
    await s.flush()


async def test_a_household_counts_as_covered_once_its_quota_is_met(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    v0, sec0 = world.villages[0].id, world.people["sec0"].id
    async with sessionmaker() as s, s.begin():
        wang = await add_household(s, v0, "H1", "王大", "监测户", clock.now())
        li = await add_household(s, v0, "H2", "李二", "脱贫户", clock.now())
        await add_household(s, v0, "H3", "张三", "一般户", clock.now())  # quota 0: not due
        for day in (2, 3):
            await _visit(s, wang, sec0, sh(2026, 11, day, 10))
        await _visit(s, wang, sec0, sh(2026, 11, 4, 10), status="revoked")  # does not count
        await _visit(s, wang, sec0, sh(2026, 10, 30, 10))  # last month: does not count
        await _visit(s, li, sec0, sh(2026, 11, 5, 10))

    async with sessionmaker() as s:
        [before] = await coverage.coverage_by_village(s, [v0], MONTH, QUOTAS)
        short = await coverage.households_short(s, [v0], MONTH, QUOTAS, limit=50)
    assert (before.households_due, before.households_met) == (2, 1)  # 李二 met 1/1
    assert (before.visits_required, before.visits_done) == (4, 3)
    assert [(p.head_name, p.visited, p.required) for p in short[v0]] == [("王大", 2, 3)]

    async with sessionmaker() as s, s.begin():
        for day in (6, 7):  # the third visit meets the quota, the fourth changes nothing
            await _visit(s, wang, sec0, sh(2026, 11, day, 10))
    async with sessionmaker() as s:
        [after] = await coverage.coverage_by_village(s, [v0], MONTH, QUOTAS)
        progress = await coverage.village_progress(s, v0, MONTH, QUOTAS)
        short = await coverage.households_short(s, [v0], MONTH, QUOTAS, limit=50)
    assert (after.households_due, after.households_met) == (2, 2)
    assert after.visits_done == 4  # capped at each household's quota
    assert coverage.summarize(progress, v0, "石门村") == after
    assert [p.head_name for p in progress if p.met] == ["王大", "李二"]
    assert coverage.still_due(progress) == [] and short == {}


async def test_county_day_counts_overdue_assignments_per_village(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    county0 = world.people["county0"].id
    v = [r.id for r in world.villages]
    async with sessionmaker() as s, s.begin():
        for title, villages in (("交表", [v[0], v[1]]), ("拍照", [v[0]]), ("报数", [v[2]])):
            await task_store.create_task(
                s,
                kind="task",
                title=title,
                created_by=county0,
                county_id=world.county.id,
                village_ids=villages,
                now=clock.now(),
                deadline=sh(2026, 11, 11, 18),
            )
        _, (later,) = await task_store.create_task(
            s,
            kind="task",
            title="月底交",
            created_by=county0,
            county_id=world.county.id,
            village_ids=[v[3]],
            now=clock.now(),
            deadline=sh(2026, 11, 30, 18),  # not overdue yet
        )
        _, (done,) = await task_store.create_task(
            s,
            kind="task",
            title="已交",
            created_by=county0,
            county_id=world.county.id,
            village_ids=[v[2]],
            now=clock.now(),
            deadline=sh(2026, 11, 11, 18),
        )
        await task_store.submit(
            s, done.id, world.people["sec2"].id, clock.now(), texts=["x"], photos=[]
        )
    now = sh(2026, 11, 12, 20)
    day = Day(
        start=sh(2026, 11, 12).astimezone(UTC),
        end=sh(2026, 11, 13).astimezone(UTC),
        month=MONTH,
        now=now,
    )
    async with sessionmaker() as s:
        figures = await county_day(s, world.county.id, day, rules.quota_policy)
    # Most overdue first; the submitted one and the one not yet due are not overdue.
    assert figures.overdue_by_village == [("石门村", 2), ("杏花村", 1), ("柳树村", 1)]
    assert figures.unassigned == 0


async def _dead(s, person_id: int, key: str, status: OutboxStatus, at: datetime) -> None:
    await outbox.enqueue(s, recipient_id=person_id, body={"text": key}, key=key, now=at)
    await s.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.idempotency_key == key)
        .values(status=status, last_error="boom")
    )


async def test_dead_letters_are_limited_to_the_region(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    p = world.people
    async with sessionmaker() as s, s.begin():
        await _dead(s, p["sec0"].id, "a", OutboxStatus.DEAD, clock.now())  # 东岭镇 village
        await _dead(s, p["town0"].id, "b", OutboxStatus.UNDELIVERABLE, clock.now())  # 东岭镇
        await _dead(s, p["sec2"].id, "c", OutboxStatus.DEAD, clock.now())  # 西川乡 village
        await _dead(s, p["county0"].id, "d", OutboxStatus.DEAD, clock.now())  # the county
        await outbox.enqueue(s, recipient_id=p["sec1"].id, body={}, key="e", now=clock.now())
    town0 = world.townships[0].id
    async with sessionmaker() as s:
        in_town = await dead_letters(s, town0)
        in_village = await dead_letters(s, world.villages[0].id)
        in_county = await dead_letters(s, world.county.id)
        counts = await dead_letter_counts(s, town0, clock.now() - timedelta(hours=1))
        none_since = await dead_letter_counts(s, town0, clock.now() + timedelta(hours=1))
    assert {d.recipient for d in in_town} == {"书记0", "乡干部0"} and len(in_town) == 2
    assert [d.recipient for d in in_village] == ["书记0"]
    assert {d.recipient for d in in_county} == {"书记0", "书记2", "乡干部0", "县干部0"}
    assert len(in_county) == 4
    assert [d.id for d in in_county] == sorted((d.id for d in in_county), reverse=True)
    assert {(c.recipient, c.status, c.count) for c in counts} == {
        ("书记0", "dead", 1),
        ("乡干部0", "undeliverable", 1),
    }
    assert none_since == []


async def test_ledger_rows_are_scoped_to_the_region(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    v0, v2 = world.villages[0].id, world.villages[2].id
    async with sessionmaker() as s, s.begin():
        here = await add_household(s, v0, "H1", "王大", "监测户", clock.now())
        there = await add_household(s, v2, "H2", "钱多", "监测户", clock.now())
        await _visit(s, here, world.people["sec0"].id, sh(2026, 11, 3, 10))
        await _visit(s, there, world.people["sec2"].id, sh(2026, 11, 4, 10))
        await _visit(s, here, world.people["sec0"].id, sh(2026, 11, 5, 10), status="revoked")
        for n, h in enumerate((here, there), start=1):
            s.add(
                Problem(
                    county_id=world.county.id,
                    number=n,
                    household_id=h.id,
                    village_id=h.village_id,
                    kind="住房安全",
                    description="屋顶漏雨",
                    found_at=sh(2026, 11, 3, 11),
                )
            )
    town0 = [world.villages[0].id, world.villages[1].id]
    start, end = sh(2026, 11, 1), sh(2026, 12, 1)
    async with sessionmaker() as s:
        visits = [v async for chunk in ledger.visit_entries(s, town0, MONTH) for v in chunk]
        problems = await ledger.problem_entries(s, town0, start, end)
    assert [(v.head_name, v.visitor, v.photos) for v in visits] == [("王大", "书记0", ())]
    assert [(p.head_name, p.status) for p in problems] == [("王大", "open")]
