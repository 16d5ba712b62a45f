"""Visit progress and ledger use cases: scope is checked for every village id a person sends."""

from __future__ import annotations

import pytest

from core.errors import Refused
from core.rules import QuotaPolicy
from services import progress, reports
from tests.factories import add_household, make_world

MONTH = "2026-11"
QUOTAS = QuotaPolicy({"监测户": 3})


@pytest.fixture
async def world(sessionmaker, clock):
    w = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        await add_household(s, w.villages[0].id, "H1", "王大", "监测户", clock.now())
    return w


async def test_staff_open_a_village_due_list_within_their_region(sessionmaker, world):
    async with sessionmaker() as s:
        got = await progress.village_due(
            s, world.people["town0"], world.villages[0].id, MONTH, QUOTAS
        )
    assert got.name == "石门村" and [p.head_name for p in got.due] == ["王大"]
    assert (got.coverage.households_due, got.coverage.households_met) == (1, 0)


async def test_foreign_unknown_and_non_village_ids_get_the_same_refusal(sessionmaker, world):
    town0 = world.people["town0"]
    messages = []
    async with sessionmaker() as s:
        for village_id in (world.villages[2].id, 999_999, world.townships[0].id):
            with pytest.raises(Refused) as refused:
                await progress.village_due(s, town0, village_id, MONTH, QUOTAS)
            messages.append(refused.value.message)
    assert len(set(messages)) == 1 and "无权访问" in messages[0]


async def test_a_secretary_only_sees_their_own_village(sessionmaker, world):
    sec0 = world.people["sec0"]
    async with sessionmaker() as s:
        own = await progress.village_due(s, sec0, None, MONTH, QUOTAS)
        assert own.village_id == world.villages[0].id
        assert await progress.find_village(s, sec0, "柳树村") is None
        with pytest.raises(Refused):
            await progress.village_due(s, sec0, world.villages[1].id, MONTH, QUOTAS)


async def test_county_progress_is_rolled_up_by_township(sessionmaker, world):
    async with sessionmaker() as s:
        area = await progress.area_progress(s, world.people["county0"], MONTH, QUOTAS)
    assert [c.name for c in area.parts] == ["东岭镇", "西川乡"]  # lowest coverage first
    assert (area.total.households_due, area.total.households_met) == (1, 0)


async def test_ledger_is_refused_outside_the_region_and_village_cadres_have_their_own(
    sessionmaker, world
):
    async with sessionmaker() as s:
        region = await reports.ledger_region(s, world.people["town0"], world.villages[1].id)
        assert region.name == "柳树村"
        own = await reports.ledger_region(s, world.people["sec0"], world.villages[0].id)
        assert own.id == world.villages[0].id
        for person, region_id in (
            (world.people["town0"], world.county.id),
            (world.people["sec0"], world.villages[1].id),
            (world.people["sec0"], world.townships[0].id),
            (None, world.villages[0].id),
        ):
            with pytest.raises(Refused) as refused:
                await reports.ledger_region(s, person, region_id)
            assert refused.value.message == reports.LEDGER_REFUSED
