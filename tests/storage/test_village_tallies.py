"""The village tallies (storage.village_tallies) on a real database: after visits saved,
revoked and amended, a household's category changed, retired and restored, moved to another
village, and a roster import, the stored tallies equal a recount from households and
household_months, and the county's coverage read from them equals each village's coverage
counted household by household (本月走访's reader)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime

import pytest
import sqlalchemy as sa

from core.rules import QuotaPolicy, VisitCount
from storage import household_edits, households, village_tallies, visits
from storage.households import RawRow, household_dto
from storage.models import Household, HouseholdMonth, VillageHouseholds, VillageMonthTally
from storage.readmodels import coverage
from tests.conftest import SHANGHAI
from tests.factories import add_household, make_world

QUOTAS = {"监测户": 2, "脱贫户": 1, "一般户": 0}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _stored(s) -> tuple[Counter, Counter]:
    """(village households, month tallies) as stored, rows of zero left out."""
    hh = Counter(
        {
            (v, c): n
            for v, c, n in await s.execute(
                sa.select(
                    VillageHouseholds.village_id,
                    VillageHouseholds.category,
                    VillageHouseholds.households,
                )
            )
            if n
        }
    )
    t = VillageMonthTally
    months = Counter(
        {
            tuple(r[:-1]): r[-1]
            for r in await s.execute(
                sa.select(t.village_id, t.month, t.category, t.visits, t.days, t.households)
            )
            if r[-1]
        }
    )
    return hh, months


async def _recounted(s) -> tuple[Counter, Counter]:
    """The same, counted in Python from the households and household_months rows."""
    rows = {
        r.id: r
        for r in await s.execute(
            sa.select(Household.id, Household.village_id, Household.category, Household.active)
        )
    }
    hh = Counter((r.village_id, r.category) for r in rows.values() if r.active)
    months: Counter = Counter()
    for hid, month, n, days in await s.execute(
        sa.select(
            HouseholdMonth.household_id,
            HouseholdMonth.month,
            HouseholdMonth.visits,
            HouseholdMonth.days,
        )
    ):
        r = rows[hid]
        if r.active:
            months[(r.village_id, month, r.category, n, days)] += 1
    return hh, months


async def _assert_kept(sessionmaker, village_ids: list[int]) -> None:
    async with sessionmaker() as s:
        stored = await _stored(s)
        assert stored == await _recounted(s)
        assert stored[0], "the test has households"
        for count in VisitCount:
            policy = QuotaPolicy(QUOTAS, count)
            for month in ("2026-10", "2026-11"):
                county = await coverage.coverage_by_village(s, village_ids, month, policy)
                for c in county:
                    progress = await coverage.village_progress(s, c.region_id, month, policy)
                    assert coverage.summarize(progress, c.region_id, c.name) == c


async def _record(sessionmaker, household_id: int, visitor: int, at: datetime) -> int:
    async with sessionmaker() as s, s.begin():
        h = await s.get(Household, household_id)
        v = await visits.record_visit(
            s,
            household=household_dto(h),
            visitor_id=visitor,
            at=at,
            tz=SHANGHAI,
            checklist={},
            note=None,
        )
    return v.id


@pytest.fixture
async def county(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    v0, v1 = world.villages[0].id, world.villages[1].id
    async with sessionmaker() as s, s.begin():
        hh = [
            (await add_household(s, v0, "H1", "王大", "监测户", clock.now())).id,
            (await add_household(s, v0, "H2", "李二", "脱贫户", clock.now())).id,
            (await add_household(s, v0, "H3", "张三", "监测户", clock.now())).id,
            (await add_household(s, v1, "H4", "赵四", "一般户", clock.now())).id,
        ]
    return world, [v.id for v in world.villages], hh


async def test_tallies_follow_visits_saved_revoked_and_amended(sessionmaker, county):
    world, vids, (wang, li, zhang, zhao) = county
    sec0 = world.people["sec0"].id
    await _assert_kept(sessionmaker, vids)
    oct30 = await _record(sessionmaker, wang, sec0, sh(2026, 10, 30, 10))
    morning = await _record(sessionmaker, wang, sec0, sh(2026, 11, 2, 9))
    await _record(sessionmaker, wang, sec0, sh(2026, 11, 2, 15))
    nov5 = await _record(sessionmaker, wang, sec0, sh(2026, 11, 5, 10))
    await _record(sessionmaker, li, sec0, sh(2026, 11, 3, 10))
    await _record(sessionmaker, zhao, sec0, sh(2026, 11, 3, 11))
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s:
        months = (await _stored(s))[1]
    assert months[(vids[0], "2026-11", "监测户", 3, 2)] == 1
    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, nov5, sh(2026, 11, 5, 11))
        await visits.amend(s, morning, sh(2026, 11, 5, 11), note="补记")
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, oct30, sh(2026, 11, 6, 10))
    await _assert_kept(sessionmaker, vids)
    assert zhang


async def test_tallies_follow_category_change_retire_restore_and_move(sessionmaker, county, clock):
    world, vids, (wang, li, zhang, _zhao) = county
    sec0 = world.people["sec0"].id
    for h, at in (
        (wang, sh(2026, 11, 2, 9)),
        (li, sh(2026, 11, 3, 9)),
        (zhang, sh(2026, 10, 3, 9)),
    ):
        await _record(sessionmaker, h, sec0, at)
    now = clock.now()
    async with sessionmaker() as s, s.begin():
        await household_edits.change(s, wang, now, category="脱贫户")
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s, s.begin():
        await household_edits.change(s, li, now, active=False)
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s:
        assert (await _stored(s))[0][(vids[0], "脱贫户")] == 1  # 王大 only
    async with sessionmaker() as s, s.begin():
        await household_edits.change(s, li, now, active=True)
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s, s.begin():  # through the ORM: its mapper events
        h = await s.get(Household, zhang)
        h.village_id, h.category = vids[2], "脱贫户"
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s, s.begin():
        (await s.get(Household, wang)).active = False
    await _assert_kept(sessionmaker, vids)


async def test_tallies_follow_a_roster_import(sessionmaker, county, clock):
    world, vids, (wang, _li, _zhang, _zhao) = county
    sec0 = world.people["sec0"].id
    await _record(sessionmaker, wang, sec0, sh(2026, 11, 2, 9))
    # make_world: two villages a township, in order.
    place = {v.id: (world.townships[i // 2].name, v.name) for i, v in enumerate(world.villages)}

    def row(line: int, code: str, village: int, category: str) -> RawRow:
        town, name = place[village]
        cells = {"户编号": code, "户主姓名": "户主", "所属乡镇": town, "所属村": name}
        return RawRow(line, {**cells, "户类型": category, "家庭人口": "3"})

    rows = [
        row(2, "H1", vids[1], "一般户"),  # 王大 moves, with his visit, and changes category
        row(3, "N1", vids[2], "监测户"),
        row(4, "N2", vids[2], "监测户"),
    ]
    async with sessionmaker() as s, s.begin():
        report = await households.import_rows(s, rows, clock.now())
    assert not report.errors and (report.created, report.updated) == (2, 1)
    await _assert_kept(sessionmaker, vids)
    async with sessionmaker() as s:
        stored = await _stored(s)
    assert stored[0][(vids[2], "监测户")] == 2
    assert stored[1][(vids[1], "2026-11", "一般户", 1, 1)] == 1


async def test_a_recount_writes_what_the_writes_kept(sessionmaker, county):
    world, vids, (wang, li, _zhang, _zhao) = county
    sec0 = world.people["sec0"].id
    for h, at in ((wang, sh(2026, 10, 2, 9)), (wang, sh(2026, 11, 2, 9)), (li, sh(2026, 11, 3, 9))):
        await _record(sessionmaker, h, sec0, at)
    async with sessionmaker() as s:
        kept = await _stored(s)
    async with sessionmaker() as s, s.begin():
        await s.execute(sa.delete(VillageMonthTally))
        await village_tallies.recount(s)
    async with sessionmaker() as s:
        assert await _stored(s) == kept
