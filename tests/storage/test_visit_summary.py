"""The visit summaries (storage.visit_summary) on a real database: written with every visit
saved, revoked or amended through storage.visits, always equal to a recount of the visits
table; coverage read from them (this month from the household rows, an earlier month through
household_months) equals coverage counted straight from the visits; a bulk rebuild agrees."""

from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, timedelta

import pytest
import sqlalchemy as sa

from core.rules import QuotaPolicy, VisitCount
from storage import visit_summary, visits
from storage.households import household_dto
from storage.models import Household, HouseholdMonth, Visit
from storage.readmodels import console as figures
from storage.readmodels import coverage
from tests.conftest import SHANGHAI
from tests.factories import add_household, make_world

QUOTAS = {"监测户": 3, "脱贫户": 1, "一般户": 0}


def sh(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


async def _summaries(s) -> tuple[dict, dict]:
    """(household_months rows, the household rows' copies), as stored."""
    months = {
        (h, m): (n, d)
        for h, m, n, d in await s.execute(
            sa.select(
                HouseholdMonth.household_id,
                HouseholdMonth.month,
                HouseholdMonth.visits,
                HouseholdMonth.days,
            )
        )
    }
    rows = {
        r[0]: tuple(r[1:])
        for r in await s.execute(
            sa.select(
                Household.id,
                Household.last_visited_at,
                Household.last_month,
                Household.last_month_visits,
                Household.last_month_days,
            )
        )
    }
    return months, rows


async def _recount(s) -> tuple[dict, dict]:
    """The same figures counted straight from the visits table, in Python."""
    active = (
        await s.execute(
            sa.select(Visit.household_id, Visit.month, Visit.day, Visit.visited_at).where(
                Visit.status == "active"
            )
        )
    ).all()
    per: dict[tuple[int, str], list[date]] = defaultdict(list)
    for h, m, d, _at in active:
        per[(h, m)].append(d)
    months = {k: (len(days), len(set(days))) for k, days in per.items()}
    rows = {}
    for hid in await s.scalars(sa.select(Household.id)):
        mine = [a for a in active if a[0] == hid]
        if not mine:
            rows[hid] = (None, None, None, None)
            continue
        latest = max(m for _h, m, _d, _a in mine)
        rows[hid] = (max(a[3] for a in mine), latest, *months[(hid, latest)])
    return months, rows


async def _assert_kept(sessionmaker) -> None:
    async with sessionmaker() as s:
        assert await _summaries(s) == await _recount(s)


async def _record(sessionmaker, household: Household, visitor: int, at: datetime) -> int:
    async with sessionmaker() as s, s.begin():
        v = await visits.record_visit(
            s,
            household=household_dto(household),
            visitor_id=visitor,
            at=at,
            tz=SHANGHAI,
            checklist={},
            note=None,
        )
    return v.id


@pytest.fixture
async def village(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    v0 = world.villages[0].id
    async with sessionmaker() as s, s.begin():
        hh = [
            await add_household(s, v0, "H1", "王大", "监测户", clock.now()),
            await add_household(s, v0, "H2", "李二", "脱贫户", clock.now()),
            await add_household(s, v0, "H3", "张三", "监测户", clock.now()),
        ]
    return world, v0, hh


async def test_the_summary_follows_every_visit_saved_revoked_and_amended(sessionmaker, village):
    world, _v0, (wang, li, _zhang) = village
    sec0 = world.people["sec0"].id
    await _assert_kept(sessionmaker)  # nobody visited
    oct30 = await _record(sessionmaker, wang, sec0, sh(2026, 10, 30, 10))
    morning = await _record(sessionmaker, wang, sec0, sh(2026, 11, 2, 9))
    await _record(sessionmaker, wang, sec0, sh(2026, 11, 2, 15))  # the same day
    nov5 = await _record(sessionmaker, wang, sec0, sh(2026, 11, 5, 10))
    await _record(sessionmaker, li, sec0, sh(2026, 11, 3, 10))
    await _assert_kept(sessionmaker)
    async with sessionmaker() as s:
        months, rows = await _summaries(s)
    assert months[(wang.id, "2026-11")] == (3, 2) and months[(wang.id, "2026-10")] == (1, 1)
    assert rows[wang.id][1:] == ("2026-11", 3, 2)

    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, nov5, sh(2026, 11, 5, 11))
        await visits.amend(s, morning, sh(2026, 11, 5, 11), note="补记")
    await _assert_kept(sessionmaker)
    async with sessionmaker() as s:
        months, rows = await _summaries(s)
    assert months[(wang.id, "2026-11")] == (2, 1)
    assert rows[wang.id] == (sh(2026, 11, 2, 15), "2026-11", 2, 1)

    # Revoking every November visit: the latest month falls back to October.
    async with sessionmaker() as s, s.begin():
        for vid in await s.scalars(
            sa.select(Visit.id).where(Visit.household_id == wang.id, Visit.month == "2026-11")
        ):
            await visits.revoke(s, vid, sh(2026, 11, 6, 10))
    await _assert_kept(sessionmaker)
    async with sessionmaker() as s:
        months, rows = await _summaries(s)
    assert (wang.id, "2026-11") not in months
    assert rows[wang.id] == (sh(2026, 10, 30, 10), "2026-10", 1, 1)
    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, oct30, sh(2026, 11, 6, 10))
    await _assert_kept(sessionmaker)
    async with sessionmaker() as s:
        assert (await _summaries(s))[1][wang.id] == (None, None, None, None)


def _coverage_from_visits(rows, categories: dict[int, str], policy: QuotaPolicy):
    """(due, met, required, done) of one village, counted in Python from its active visits."""
    counted: dict[int, set] = defaultdict(set)
    for i, (hid, day) in enumerate(rows):
        counted[hid].add(day if policy.count == VisitCount.DAY else i)
    due = met = required = done = 0
    for hid, category in categories.items():
        quota = policy.defaults.get(category, 0)
        if quota > 0:
            n = len(counted[hid])
            due, met = due + 1, met + (n >= quota)
            required, done = required + quota, done + min(n, quota)
    return due, met, required, done


@pytest.mark.parametrize("count", [VisitCount.DAY, VisitCount.VISIT])
async def test_coverage_from_the_summary_equals_coverage_from_the_visits(
    sessionmaker, village, count
):
    """November read from the household rows (no later month exists), then, once a December
    visit exists, through household_months: the same figures as counting the visits."""
    world, v0, (wang, li, zhang) = village
    sec0 = world.people["sec0"].id
    policy = QuotaPolicy(QUOTAS, count)
    for h, at in (
        (wang, sh(2026, 11, 2, 9)),
        (wang, sh(2026, 11, 2, 15)),
        (wang, sh(2026, 11, 4, 9)),
        (li, sh(2026, 11, 3, 9)),
        (zhang, sh(2026, 10, 3, 9)),
    ):
        await _record(sessionmaker, h, sec0, at)
    revoked = await _record(sessionmaker, zhang, sec0, sh(2026, 11, 9, 9))
    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, revoked, sh(2026, 11, 9, 10))

    async def both() -> tuple[tuple[int, ...], tuple[int, ...]]:
        async with sessionmaker() as s:
            [c] = await coverage.coverage_by_village(s, [v0], "2026-11", policy)
            progress = await coverage.village_progress(s, v0, "2026-11", policy)
            rows = await s.execute(
                sa.select(Visit.household_id, Visit.day).where(
                    Visit.status == "active", Visit.month == "2026-11"
                )
            )
            expected = _coverage_from_visits(
                rows.all(), {h.id: h.category for h in (wang, li, zhang)}, policy
            )
        got = (c.households_due, c.households_met, c.visits_required, c.visits_done)
        assert coverage.summarize(progress, v0, c.name) == c
        return got, expected

    got, expected = await both()
    assert got == expected
    assert got == ((3, 1, 7, 3) if count == VisitCount.DAY else (3, 2, 7, 4))
    await _record(sessionmaker, li, sec0, sh(2026, 12, 1, 9))  # a later month exists now
    again, expected = await both()
    assert again == expected == got


async def test_a_bulk_rebuild_writes_what_the_visit_writes_kept(sessionmaker, village):
    world, _v0, (wang, li, _zhang) = village
    sec0 = world.people["sec0"].id
    for h, at in ((wang, sh(2026, 10, 2, 9)), (wang, sh(2026, 11, 2, 9)), (li, sh(2026, 11, 3, 9))):
        await _record(sessionmaker, h, sec0, at)
    async with sessionmaker() as s:
        kept = await _summaries(s)
    async with sessionmaker() as s, s.begin():
        await s.execute(sa.delete(HouseholdMonth))
        await s.execute(sa.update(Household).values(last_month=None, last_visited_at=None))
        await visit_summary.rebuild(s)
    async with sessionmaker() as s:
        assert await _summaries(s) == kept


async def test_households_not_visited_for_30_days_follow_the_summary(sessionmaker, village):
    world, v0, (wang, li, zhang) = village
    sec0 = world.people["sec0"].id
    since = sh(2026, 11, 20, 0) - timedelta(days=30)
    await _record(sessionmaker, wang, sec0, sh(2026, 11, 10, 9))
    old = await _record(sessionmaker, li, sec0, sh(2026, 10, 1, 9))  # before ``since``
    recent = await _record(sessionmaker, li, sec0, sh(2026, 11, 1, 9))
    async with sessionmaker() as s:
        assert await figures.stale_count(s, [v0], since) == 1  # 张三, never visited
    async with sessionmaker() as s, s.begin():
        await visits.revoke(s, recent, sh(2026, 11, 1, 10))
    async with sessionmaker() as s:
        assert await figures.stale_count(s, [v0], since) == 2
        page = await figures.stale_page(s, [v0], since, limit=10, offset=0)
        old_at = (await visits.get_visit(s, old)).visited_at
    assert [(p.code, p.last_visit) for p in page] == [("H2", old_at), ("H3", None)]
    assert zhang.code == "H3"
