"""户 (一户一档) in the console: search within the person's region, one household's file with
its phone masked, visits with checks, problems; another region's household is 404 like an
unknown one."""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from services import media
from storage import photos as photo_store
from storage import regions
from storage.models import Household, Visit
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.fakes.harness import amr_bytes
from tests.webclient import webchat_server


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


async def test_household_search_finds_by_name_or_code_within_the_persons_region(
    site, sessionmaker, clock
):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        _, by_code = await browser.get("/console/households?q=a00")
        _, by_name = await browser.get("/console/households?q=赵")
        _, foreign = await browser.get("/console/households?q=外户")
        _, other_town = await browser.get("/console/households?q=孙六")
        _, wildcard = await browser.get("/console/households?q=%25")
        _, village = await browser.get(f"/console/households?region={facts.world.villages[1].id}")
    assert all(code in by_code for code in ("A001", "A002", "A003")) and "B001" not in by_code
    assert "赵四" in by_name and "王大" not in by_name
    assert "Z001" not in foreign and "没有找到" in foreign
    assert "C001" not in other_town  # 孙六 lives in another township
    assert "没有找到" in wildcard  # % is a character, not a pattern
    assert "B001" in village and "B002" in village and "A001" not in village


async def test_household_file_shows_members_masked_phone_visits_and_problems(
    site, sessionmaker, clock
):
    facts, server = site
    hid = facts.households["v1a"]
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        status, page = await browser.get(f"/console/households/{hid}")
    assert status == 200
    assert "赵四" in page and "监测户" in page and "4 人" in page
    assert "138****5678" in page and "13812345678" not in page
    assert "住房安全：有问题" in page and "饮水安全：正常" in page
    assert "屋顶漏雨" in page and "13900001111" not in page and "13700002222" not in page
    assert "整改中" in page and "书记1" in page


async def test_a_household_outside_the_persons_scope_is_404_like_an_unknown_one(
    site, sessionmaker, clock
):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["sec0"], clock.now())
        assert (await browser.get(f"/console/households/{facts.households['v0a']}"))[0] == 200
        for key in ("v1a", "v2a", "away"):
            status, page = await browser.get(f"/console/households/{facts.households[key]}")
            assert status == 404 and "没有编号为" in page, key
            assert "赵四" not in page and "孙六" not in page and "外户" not in page
        for raw in ("999999", "abc", "0"):
            assert (await browser.get(f"/console/households/{raw}"))[0] == 404


async def test_voice_note_plays_on_the_household_page_and_only_in_scope(
    site, sessionmaker, clock, tmp_path
):
    """A voice note on a visit: an <audio> on the household's file, served through the
    console's media route to the region's staff; another township gets 404 like no file."""
    facts, server = site
    hid = facts.households["v1a"]
    voice = amr_bytes(b"z")
    stored = media.save_voice_sync(tmp_path / "var" / "media", voice)
    async with sessionmaker() as s, s.begin():
        visit_id = await s.scalar(sa.select(Visit.id).where(Visit.household_id == hid).limit(1))
        sec = facts.world.people["sec1"].id
        pid, _ = await photo_store.add_photo(
            s, stored.to_dict(), uploaded_by=sec, now=clock.now(), taken_at=None
        )
        await photo_store.attach_photos(s, [pid], visit_id)
    url = f"/console/media/{stored.path}"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        _, page = await browser.get(f"/console/households/{hid}")
        async with browser.http.get(server.url(url)) as resp:
            assert resp.status == 200 and await resp.read() == voice
    assert f'<audio controls preload="none" src="{url}">' in page and "语音 1" in page
    assert "照片 1 张" not in page  # a voice note is not counted as a photo
    async with Browser(server.base_url) as other:
        await other.sign_in(sessionmaker, facts.world.people["town1"], clock.now())
        async with other.http.get(server.url(url)) as resp:
            assert resp.status == 404
        status, _ = await other.get(f"/console/households/{hid}")
        assert status == 404


async def test_household_filters_by_category_and_not_visited_this_month(
    site, sessionmaker, clock, rules
):
    """户类别 and 本月未走访 narrow the registry to what a recount of the rows gives; an
    unknown category is no filter (never a 5xx)."""
    facts, server = site
    town = facts.world.people["town0"]
    month = f"{clock.now().astimezone(rules.timezone):%Y-%m}"
    async with sessionmaker() as s:
        village_ids = await regions.village_ids_under(s, town.region_id)
        rows = (
            await s.execute(
                sa.select(Household.id, Household.code, Household.category).where(
                    Household.village_id.in_(village_ids), Household.active.is_(True)
                )
            )
        ).all()
        visited = set(
            await s.scalars(
                sa.select(Visit.household_id).where(Visit.status == "active", Visit.month == month)
            )
        )
    category = rows[0].category
    want_category = {r.code for r in rows if r.category == category}
    want_unvisited = {r.code for r in rows if r.id not in visited}
    assert visited and want_unvisited and len(want_unvisited) < len(rows)  # the data can tell
    every = {r.code for r in rows}
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, town, clock.now())
        _, by_category = await browser.get(f"/console/households?category={category}")
        _, unvisited = await browser.get("/console/households?unvisited=1")
        status, odd = await browser.get("/console/households?category=%E2%80%AE&unvisited=x")

    def shown(page: str) -> set[str]:
        return {code for code in every if f">{code}<" in page}

    assert shown(by_category) == want_category
    assert shown(unvisited) == want_unvisited
    assert status == 200 and shown(odd) == every
