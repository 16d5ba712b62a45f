"""services.households on a real session: the race a unique code loses, a helper linked only
by person id, and the chat's household search leaving retired households out."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from core.errors import Invalid, NotFound, Refused
from services import households
from storage import household_edits
from storage.household_edits import NewHousehold
from storage.household_search import search_households
from storage.models import Audit, Household
from tests.factories import add_household, make_world


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


async def test_a_code_taken_between_check_and_insert_writes_nothing_and_keeps_the_session(
    sessionmaker, clock, world
):
    now, village = clock.now(), world.villages[0].id
    async with sessionmaker() as s, s.begin():
        await add_household(s, village, "A001", "王大", "脱贫户", now)
    new = NewHousehold("A001", village, "重号", "一般户", 2, None, None, None)
    async with sessionmaker() as s, s.begin():
        assert await household_edits.add(s, new, now) is None
        # The savepoint rolled back alone: the transaction goes on and commits.
        other = await household_edits.add(s, replace(new, code="A002"), now)
        assert other is not None
    async with sessionmaker() as s:
        codes = sorted(await s.scalars(sa.select(Household.code)))
    assert codes == ["A001", "A002"]


async def test_an_edit_compares_with_the_helper_the_page_shows(sessionmaker, clock, world):
    now, sec = clock.now(), world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        h = await add_household(s, world.villages[0].id, "A001", "王大", "脱贫户", now)
        h.helper_id = sec.id  # linked to a person, no roster name
    town = world.people["town0"]
    async with sessionmaker() as s, s.begin():
        same = await households.edit(s, town, h.id, category="脱贫户", helper=sec.name, now=now)
        moved = await households.edit(s, town, h.id, category="脱贫户", helper="", now=now)
    assert same.changed == {} and moved.changed == {"helper": (sec.name, None)}
    async with sessionmaker() as s:
        rows = list(await s.scalars(sa.select(Audit).where(Audit.action == "household.edit")))
    assert [r.detail["before"] for r in rows] == [{"helper": sec.name}]


async def test_refusals_come_before_any_write(sessionmaker, clock, world):
    now = clock.now()
    async with sessionmaker() as s, s.begin():
        h = await add_household(s, world.villages[2].id, "C001", "孙六", "脱贫户", now)
    cases = (
        (world.people["town0"], h.id, NotFound),  # another township's household
        (world.people["sec2"], h.id, Refused),  # its own secretary: read only
        (world.people["county0"], 0, NotFound),
        (world.people["county0"], -5, NotFound),
    )
    for me, hid, error in cases:
        async with sessionmaker() as s:
            with pytest.raises(error):
                await households.retire(s, me, hid, reason="迁出", now=now)
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid):
            await households.retire(s, world.people["county0"], h.id, reason=" ", now=now)
        done = await households.retire(s, world.people["county0"], h.id, reason="迁出", now=now)
    assert done.id == h.id
    async with sessionmaker() as s:
        found = await search_households(s, world.villages[2].id, "孙六")
    assert found.matches == [] and found.nearest == []  # chat cannot report a visit to it
