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

from storage.models import Audit, Household, Job
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

REGION_ROUTES = (
    "/console",
    "/console/tasks",
    "/console/households",
    "/console/households/stale",
    "/console/problems",
    "/console/exports",
    "/console/visits",
    "/console/visits/photos",
    "/console/visits/map",
    "/console/visits/map.json",
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


# Which households each person sees (console_data: v0a in 石门村, v1a in 柳树村 of the same
# township, v2a in 西川乡, away in the other county); whether their role edits them.
SEES_HOUSEHOLDS = {
    "sec0": {"v0a"},
    "town0": {"v0a", "v1a"},
    "county0": {"v0a", "v1a", "v2a"},
    "away_county": {"away"},
}
EDITS = {"sec0": False, "town0": True, "county0": True, "away_county": True}
HOUSEHOLD_NAMES = {"v0a": "王大", "v1a": "赵四", "v2a": "孙六", "away": "外户"}


def _household_requests(hid: str) -> list[tuple[str, str, dict[str, str], int]]:
    """(method, path, form, status when seen and editable) of every household route."""
    return [
        ("GET", f"/console/households/{hid}", {}, 200),
        ("GET", f"/console/households/{hid}/retire", {}, 200),
        ("POST", f"/console/households/{hid}/edit", {"category": "一般户", "helper": ""}, 303),
        ("POST", f"/console/households/{hid}/retire", {"reason": "迁出"}, 303),
        ("POST", f"/console/households/{hid}/restore", {}, 303),
    ]


async def _household_state(sm) -> list[tuple[str, bool]]:
    async with sm() as s:
        rows = await s.execute(
            sa.select(Household.category, Household.active).order_by(Household.id)
        )
        return [(c, a) for c, a in rows]


@pytest.mark.parametrize("who", sorted(SEES_HOUSEHOLDS))
async def test_every_household_route_answers_a_foreign_household_like_an_unknown_one(
    site, sessionmaker, clock, who
):
    facts, server = site
    ids = {k: str(facts.households[k]) for k in HOUSEHOLD_NAMES}
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, _person(facts, who), clock.now())
        csrf = await browser.csrf()
        for key, hid in (*ids.items(), ("unknown", "999999"), ("malformed", "12abc")):
            for method, path, data, ok in _household_requests(hid):
                state = await _household_state(sessionmaker)
                if method == "GET":
                    status, page = await browser.get(path)
                else:
                    async with browser.http.post(
                        server.base_url + path, data={"csrf": csrf, **data}, allow_redirects=False
                    ) as resp:
                        status, page = resp.status, await resp.text()
                if key in SEES_HOUSEHOLDS[who]:
                    expected = 200 if path == f"/console/households/{hid}" else ok
                    if not EDITS[who] and path != f"/console/households/{hid}":
                        expected = 403
                    assert status == expected, (who, method, path, status)
                    continue
                assert status == 404, (who, key, method, path, status)
                assert "没有编号为" in page
                body = page.split("<main>", 1)[1]
                assert not any(name in body for name in HOUSEHOLD_NAMES.values()), (who, path)
                assert await _household_state(sessionmaker) == state, (who, method, path)


async def test_console_pages_without_a_session_ask_to_sign_in(site):
    facts, server = site
    async with Browser(server.base_url) as browser:
        hid = facts.households["v0a"]
        household_pages = ("/console/households/new", f"/console/households/{hid}/retire")
        faq = ("/console/faq/entries", "/console/faq/entries/F001", "/console/faq/1/merge")
        for path in (
            *REGION_ROUTES,
            f"/console/tasks/{facts.task_id}",
            *household_pages,
            "/console/households/import",
            "/console/jobs/1",
            "/console/jobs/1/progress",
            "/console/jobs/1/file",
            *faq,
        ):
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
                f"/console/households/{value or 'x'}/retire",
                f"/console/login?t={value}&to={value}",
                # FAQ entries are not regions: their matrix is in test_console_faq_entries.
                f"/console/faq/entries?q={value}&scope={value}&state={value}&page={value}",
                f"/console/faq/entries/{value or 'x'}",
                f"/console/faq/entries/{value or 'x'}/edit",
                f"/console/faq/entries/{value or 'x'}/retire",
                f"/console/faq/{value or 'x'}/merge?q={value}&page={value}",
                f"/console/exports?month={value}&region={value}",
                f"/console/jobs/{value or 'x'}",
                f"/console/jobs/{value or 'x'}/progress",
                f"/console/jobs/{value or 'x'}/file",
                f"/console/visits?region={value}&month={value}&q={value}&page={value}",
                f"/console/visits/photos?region={value}&month={value}&page={value}",
                f"/console/visits/photos/{value or 'x'}/thumb",
                f"/console/visits/map.json?region={value}&month={value}",
                f"/console/people?region={value}&role={value}&unbound={value}&page={value}",
                f"/console/people/{value or 'x'}",
                f"/console/people/invites/{value or 'x'}",
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


@pytest.mark.parametrize("who", sorted(ALLOWED))
async def test_export_requests_refuse_regions_outside_the_persons_scope(
    site, sessionmaker, clock, who
):
    facts, server = site
    targets = _targets(facts)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, _person(facts, who), clock.now())
        csrf = await browser.csrf()
        for name, (raw, _words) in targets.items():
            before = await _refusals(sessionmaker)
            async with sessionmaker() as s:  # each person may have two unfinished exports
                await s.execute(sa.delete(Job))
                await s.commit()
            resp = await browser.post(
                "/console/exports", {"csrf": csrf, "month": "2026-11", "region": raw}
            )
            if name in ALLOWED[who]:
                assert resp.status == 303, (who, name, resp.status)
                continue
            assert resp.status == 403, (who, name, resp.status)
            assert await _refusals(sessionmaker) == before + 1
            async with sessionmaker() as s:
                assert await s.scalar(sa.select(sa.func.count()).select_from(Job)) == 0


# Who may download the attachment of a task sent to 西川乡 (杏花村 sec2, 河湾村 sec3), through
# the console's session: its sender, the county, 西川乡 and its villages; nobody else.
ATTACHMENT_STATUS = {
    "county0": 200,
    "county1": 200,
    "town1": 200,
    "sec2": 200,
    "town0": 404,
    "sec0": 404,
    "away_county": 404,
}


@pytest.mark.parametrize("who", sorted(ATTACHMENT_STATUS))
async def test_task_attachments_download_only_within_the_tasks_villages(
    site, sessionmaker, clock, rules, tmp_path, who
):
    from tests.bot.web.attachments_kit import task_with_file

    facts, server = site
    w = facts.world
    number, file_id = await task_with_file(
        sessionmaker, facts, clock, rules, tmp_path / "var", {"townships": [w.townships[1].id]}
    )
    expected = ATTACHMENT_STATUS[who]
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, _person(facts, who), clock.now())
        before = await _refusals(sessionmaker)
        for raw in (str(file_id), "999999", "abc", "0"):
            async with browser.http.get(server.url(f"/console/attachments/{raw}")) as resp:
                body = await resp.read()
            want = expected if raw == str(file_id) else 404
            assert resp.status == want, (who, raw, resp.status)
            assert body.startswith(b"%PDF-") == (want == 200)
        status, page = await browser.get(f"/console/tasks/{number}")
    assert ("填报说明.pdf" in page) == (expected == 200), who
    if expected == 404:
        assert status == 404
    assert await _refusals(sessionmaker) == before + (3 if expected == 200 else 5)
