"""The console's scope matrix: every route, every level of person, every kind of foreign id.

A region outside the signed-in person's own (another village, township or county), an unknown
id and a malformed one all get the same 403 page with nothing of the target on it, and leave a
``refused`` audit row; a task that reached none of the person's villages is 404 like an
unknown one.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
import sqlalchemy as sa

from storage.models import Audit
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

REGION_ROUTES = (
    "/console",
    "/console/tasks",
    "/console/households",
    "/console/households/stale",
    "/console/problems",
    "/console/people",
)


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


def _targets(facts) -> dict[str, tuple[str, set[str]]]:
    """name -> (region id as typed, words of that region that must not show)."""
    w, away = facts.world, facts.away
    return {
        "own_village": (str(w.villages[0].id), {"石门村"}),
        "village_same_township": (str(w.villages[1].id), {"柳树村", "赵四", "钱五"}),
        "other_township": (str(w.townships[1].id), {"西川乡", "杏花村", "孙六"}),
        "village_other_township": (str(w.villages[2].id), {"杏花村", "孙六"}),
        "county": (str(w.county.id), {"示范县"}),
        "other_county": (str(away.county.id), {"邻县", "外村", "外户"}),
        "village_other_county": (str(away.villages[0].id), {"外村", "外户"}),
        "unknown": ("999999", set()),
        "malformed": ("12abc", set()),
        "zero": ("0", set()),
        "too_big": ("99999999999999", set()),
    }


# Which targets each signed-in person may open (everything else: 403).
ALLOWED = {
    "sec0": {"own_village"},
    "town0": {"own_village", "village_same_township"},
    "county0": {
        "own_village",
        "village_same_township",
        "other_township",
        "village_other_township",
        "county",
    },
    "away_county": {"other_county", "village_other_county"},
}


def _person(facts, key):
    return facts.away.people["county"] if key == "away_county" else facts.world.people[key]


async def _refusals(sm) -> int:
    async with sm() as s:
        return int(
            await s.scalar(
                sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "refused")
            )
            or 0
        )


@pytest.mark.parametrize("who", sorted(ALLOWED))
async def test_every_region_route_refuses_regions_outside_the_persons_scope(
    site, sessionmaker, clock, who
):
    facts, server = site
    targets = _targets(facts)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, _person(facts, who), clock.now())
        for route in REGION_ROUTES:
            for name, (raw, words) in targets.items():
                before = await _refusals(sessionmaker)
                status, page = await browser.get(f"{route}?region={raw}")
                if name in ALLOWED[who]:
                    assert status == 200, (who, route, name)
                    continue
                assert status == 403, (who, route, name, status)
                assert "无权访问" in page
                body = page.split("<main>", 1)[1]
                assert not any(word in body for word in words), (who, route, name)
                assert await _refusals(sessionmaker) == before + 1


async def test_township_officer_cannot_open_another_townships_village(site, sessionmaker, clock):
    facts, server = site
    other = facts.world.villages[2]  # 杏花村 of 西川乡
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town0"], clock.now())
        foreign = await browser.get(f"/console?region={other.id}")
        unknown = await browser.get("/console?region=999999")
    assert foreign[0] == unknown[0] == 403
    assert foreign[1] == unknown[1]  # the same page: nothing tells the two apart
    assert "杏花村" not in foreign[1] and "孙六" not in foreign[1]


async def test_a_task_outside_the_persons_villages_is_404_like_an_unknown_one(
    site, sessionmaker, clock
):
    facts, server = site
    own, away = facts.task_id, facts.away_task_id
    cases = {
        "county0": {own: 200, away: 404},
        "town0": {own: 200, away: 404},
        "sec0": {own: 200, away: 404},
        "away_county": {own: 404, away: 200},
    }
    for who, expected in cases.items():
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, _person(facts, who), clock.now())
            for task_id, status in expected.items():
                got, page = await browser.get(f"/console/tasks/{task_id}")
                assert got == status, (who, task_id)
                if status == 404:
                    assert "核查饮水安全" not in page and "外县通知" not in page
            for raw in ("999999", "abc", "0", "-1", "99999999999999"):
                got, page = await browser.get(f"/console/tasks/{raw}")
                assert got == 404 and "没有任务" in page, (who, raw)


async def test_township_officer_sees_a_county_task_in_their_own_villages_only(
    site, sessionmaker, clock
):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["town1"], clock.now())
        status, page = await browser.get(f"/console/tasks/{facts.task_id}")
    assert status == 200
    assert "杏花村" in page and "河湾村" in page
    assert "石门村" not in page and "柳树村" not in page
    # 杏花村 is overdue, 河湾村 returned: the tally counts only these two villages.
    assert "共 2 个村" in page and "逾期" in page and "退回" in page


async def test_task_village_view_shows_each_villages_state(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        _, page = await browser.get(f"/console/tasks/{facts.task_id}")
    rows = page.split('id="villages"', 1)[1]
    for village, state in (
        ("石门村", "已通过"),
        ("柳树村", "收到"),
        ("杏花村", "逾期"),
        ("河湾村", "退回"),
    ):
        row = rows.split(f"<td>{village}</td>", 1)[1].split("</tr>", 1)[0]
        assert f">{state}</span>" in row, (village, row)


async def test_task_list_filters_by_status_and_pages(site, sessionmaker, clock):
    facts, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        _, active = await browser.get("/console/tasks?status=active")
        _, cancelled = await browser.get("/console/tasks?status=cancelled")
        town = facts.world.townships[1].id
        _, by_town = await browser.get(f"/console/tasks?region={town}")
        bad = await browser.get("/console/tasks?status=drop%20table")
        far = await browser.get("/console/tasks?page=999999999999")
    assert "核查饮水安全" in active and "外县通知" not in active
    assert "核查饮水安全" not in cancelled and "没有符合条件的任务" in cancelled
    assert "核查饮水安全" in by_town and "共 1 条" in by_town
    assert bad[0] == 400 and far[0] == 400


async def test_console_pages_without_a_session_ask_to_sign_in(site):
    facts, server = site
    async with Browser(server.base_url) as browser:
        for path in (*REGION_ROUTES, f"/console/tasks/{facts.task_id}"):
            status, page = await browser.get(path)
            assert status == 401 and "后台" in page and "核查饮水安全" not in page
        browser.http.cookie_jar.update_cookies({"cunbot_console": "forged"})
        assert (await browser.get("/console"))[0] == 401


async def test_console_routes_answer_odd_input_without_a_server_error(site, sessionmaker, clock):
    facts, server = site
    odd = ("", "-1", "abc", "%00", "%ff%fe", "1e9", "１２", "9" * 40, "<script>", "' OR 1=1 --")
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, facts.world.people["county0"], clock.now())
        for value in odd:
            for path in (
                f"/console?region={value}&month={value}",
                f"/console/tasks?region={value}&status={value}&page={value}",
                f"/console/households?q={value}&region={value}&page={value}",
                f"/console/households/stale?page={value}",
                f"/console/tasks/{value or 'x'}?page={value}",
                f"/console/households/{value or 'x'}",
                f"/console/people?region={value}&role={value}&unbound={value}&page={value}",
                f"/console/people/{value or 'x'}",
                f"/console/people/invites/{value or 'x'}",
                f"/console/login?t={value}",
            ):
                async with browser.http.get(server.base_url + path) as resp:
                    raw = await resp.text()
                assert resp.status < 500, (path, resp.status)
                assert "<script>" not in raw, path  # echoed input is escaped
        # A POST whose body is not a form is refused like one without a token.
        for body, kind in (
            (b"\xff\xfe--", "multipart/form-data; boundary=x"),
            (b"{", "text/plain"),
        ):
            resp = await browser.post("/console/logout", body, headers={"Content-Type": kind})
            assert resp.status == 403
            resp = await browser.post("/console/login", body, headers={"Content-Type": kind})
            assert resp.status == 403
        assert (await browser.get("/console"))[0] == 200
