"""人员 in the console: who is in the person's scope (bound channels, last seen, never bound),
filtered and paged; an invite code with its QR code that then binds in the web chat; revoke,
换手机, 调村 and 停用 (after a confirmation) through services.people_admin, audited, CSRF checked,
and another region's person or code answered like an unknown one."""

from __future__ import annotations

import asyncio
import re
from dataclasses import replace
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.appkeys import CONFIG, INBOUND
from bot.web.console import qr
from storage import people
from storage.models import Audit, Identity, Person
from tests.bot.web.console_data import QUOTAS, populate
from tests.bot.web.console_kit import Browser
from tests.webclient import webchat_server

CODE_PAGE = re.compile(r"^/console/people/invites/([A-Z0-9]+)\?done=(\w+)$")


@pytest.fixture
async def site(sessionmaker, clock, rules, database_url, tmp_path):
    facts = await populate(sessionmaker, clock, replace(rules, visit_quotas=dict(QUOTAS)))
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, visit_quotas=QUOTAS
    ) as server:
        yield facts, server


async def audits(sm, action: str) -> list[Audit]:
    async with sm() as s:
        return list(await s.scalars(sa.select(Audit).where(Audit.action == action)))


async def person_row(sm, person_id: int) -> Person:
    async with sm() as s:
        found = await s.get(Person, person_id)
        assert found is not None
        return found


async def invite(browser: Browser, csrf: str, name: str, role: str, region: int) -> str:
    """发邀请码 through the form: the code shown on the page it leads to."""
    resp = await browser.post(
        "/console/people/new", {"csrf": csrf, "name": name, "role": role, "region": str(region)}
    )
    assert resp.status == 303, resp.status
    found = CODE_PAGE.match(resp.headers["Location"])
    assert found, resp.headers["Location"]
    return found[1]


async def chat_ready(server) -> None:
    """Wait until the app takes chat messages: every message waits for the FAQ index, which a
    fresh app builds in the background (slow on a busy machine)."""
    await asyncio.wait_for(server.app[INBOUND].ready.wait(), 240)


def rows_of(page: str) -> list[str]:
    return page.split('id="people-list"', 1)[1].split("</table>", 1)[0].split("<tr")[2:]


def row_for(page: str, name: str) -> str:
    [row] = [r for r in rows_of(page) if f">{name}</a>" in r]
    return row


async def test_people_list_shows_each_persons_channels_and_filters_and_pages(
    site, sessionmaker, clock
):
    facts, server = site
    w, now = facts.world, clock.now()
    async with sessionmaker() as s, s.begin():
        s.add(Person(name="老书记", role="secretary", region_id=w.villages[0].id, active=False,
                     created_at=now, prefs={}))  # fmt: skip
        await s.execute(
            sa.update(Identity)
            .where(Identity.person_id == w.people["sec1"].id)
            .values(last_seen_at=now - timedelta(hours=2))
        )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        status, page = await browser.get("/console/people")
        assert status == 200 and 'href="/console/people/new"' in page
        assert "邻县" not in page  # another county's people never show
        sec1 = row_for(page, "书记1")
        assert ">test</span>" in sec1 and "2026-11-10" in sec1 and "11-10 08:00" in sec1
        assert "从未绑定" in row_for(page, "书记2") and "从未绑定" not in sec1
        assert "已停用" in row_for(page, "老书记")
        assert "共 9 条" in page  # 4 secretaries, 2 township and 2 county staff, 老书记

        _, unbound = await browser.get("/console/people?unbound=1")
        names = {n for n in ("书记2", "书记3", "乡干部1", "县干部1") if f">{n}</a>" in unbound}
        assert names == {"书记2", "书记3", "乡干部1", "县干部1"} and "共 4 条" in unbound
        assert ">书记0</a>" not in unbound and ">老书记</a>" not in unbound
        _, overview = await browser.get("/console")
        link = f'href="/console/people?region={w.county.id}&unbound=1"'
        figure = overview.split('id="stat-unbound"', 1)[1].split("</div>", 1)[0]
        assert link in figure and '<span class="n">4</span>' in figure

        _, by_role = await browser.get(f"/console/people?role=secretary&region={w.townships[0].id}")
        assert "共 3 条" in by_role and ">乡干部0</a>" not in by_role
        _, village = await browser.get(f"/console/people?region={w.villages[1].id}")
        assert "共 1 条" in village and ">书记1</a>" in village
        assert (await browser.get("/console/people?role=boss"))[0] == 400
        assert (await browser.get("/console/people?page=99999999"))[0] == 400

        async with sessionmaker() as s, s.begin():
            for i in range(25):
                s.add(Person(name=f"队员{i:02d}", role="team_member", region_id=w.villages[3].id,
                             created_at=now, prefs={}))  # fmt: skip
        _, first = await browser.get("/console/people?role=team_member")
        assert len(rows_of(first)) == 20 and "第 1 / 2 页，共 25 条" in first
        _, second = await browser.get("/console/people?role=team_member&page=2")
        assert len(rows_of(second)) == 5


async def test_township_officer_and_secretary_see_only_their_scope(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    async with sessionmaker() as s, s.begin():  # a code made at the command line for nobody yet
        loose = await people.create_invite(
            s, role="secretary", region_id=w.villages[2].id, now=now, name="散码"
        )
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        _, page = await browser.get("/console/people")
        assert "散码" in page.split('id="loose-invites"', 1)[1] and loose.code in page
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], now)
        _, page = await browser.get("/console/people")
        assert all(f">{n}</a>" in page for n in ("书记0", "书记1", "乡干部0"))
        assert "书记2" not in page and "县干部" not in page and "共 3 条" in page
        assert "散码" not in page and loose.code not in page
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["sec0"], now)
        status, page = await browser.get("/console/people")
        assert status == 200 and ">书记0</a>" in page and "书记1" not in page
        assert "发邀请码" not in page and "共 1 条" in page
        assert (await browser.get("/console/people/new"))[0] == 403
        status, own = await browser.get(f"/console/people/{w.people['sec0'].id}")
        assert status == 200 and "换手机" not in own and "停用…" not in own


async def test_invite_shows_a_qr_of_the_bind_address_and_the_code_binds_in_the_web_chat(
    site, sessionmaker, clock
):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], now)
        csrf = await browser.csrf()
        status, form = await browser.get("/console/people/new")
        assert status == 200 and "柳树村" in form and "杏花村" not in form  # own township only
        assert 'value="county_staff"' not in form  # a township officer invites no county staff
        code = await invite(browser, csrf, "新书记", "secretary", w.villages[1].id)
        status, page = await browser.get(f"/console/people/invites/{code}?done=invited")
        url = qr.bind_url(server.app[CONFIG].public_url, code)
        assert status == 200 and code in page and url in page and "新书记" in page
        assert qr._svg(url) in page  # the QR code drawn on the page encodes the bind address
        assert "2026-11-17 10:00" in page  # 7 days
        _, listed = await browser.get("/console/people?unbound=1")
        assert "从未绑定" in row_for(listed, "新书记") and f"/invites/{code}" in listed
        # Refused forms write nothing: a village of another township, a role not managed.
        bad = await browser.post(
            "/console/people/new",
            {"csrf": csrf, "name": "外人", "role": "secretary", "region": str(w.villages[2].id)},
        )
        assert bad.status == 403
        bad = await browser.post(
            "/console/people/new",
            {"csrf": csrf, "name": "外人", "role": "county_staff", "region": str(w.county.id)},
        )
        assert bad.status == 403
        for region in ("999999", "abc", str(facts.away.villages[0].id)):
            bad = await browser.post(
                "/console/people/new",
                {"csrf": csrf, "name": "外人", "role": "secretary", "region": region},
            )
            assert bad.status == 403, region
        resp = await browser.post(
            "/console/people/new",
            {"csrf": csrf, "name": "外人", "role": "secretary", "region": str(w.townships[0].id)},
        )
        assert resp.status == 400
        assert (await browser.post("/console/people/new", {"csrf": csrf, "name": " ",
                "role": "secretary", "region": str(w.villages[1].id)})).status == 400  # fmt: skip
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).where(Person.name == "外人")) == 0
    await chat_ready(server)
    async with server.client() as web:
        frames = await web.bind(code)
        assert "绑定成功" in frames[-1]["text"] and "新书记" in frames[-1]["text"]
    [added] = await audits(sessionmaker, "person.add")
    [made] = await audits(sessionmaker, "invite")
    assert added.person_id == made.person_id == w.people["town0"].id
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], now)
        _, listed = await browser.get("/console/people")
        assert ">网页聊天</span>" in row_for(listed, "新书记")
        _, used = await browser.get(f"/console/people/invites/{code}")
        assert "已使用" in used and "<svg" not in used


async def test_revoked_code_is_refused_by_the_chat(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        csrf = await browser.csrf()
        code = await invite(browser, csrf, "临时", "village_cadre", w.villages[2].id)
        no_token = await browser.post(f"/console/people/invites/{code}/revoke", {})
        assert no_token.status == 403
        resp = await browser.post(f"/console/people/invites/{code}/revoke", {"csrf": csrf})
        assert resp.status == 303 and resp.headers["Location"] == "/console/people?done=revoked"
        again = await browser.post(f"/console/people/invites/{code}/revoke", {"csrf": csrf})
        assert again.status == 409
    await chat_ready(server)
    async with server.client() as web:
        assert "过期" in await web.say(f"绑定 {code}")
    [entry] = await audits(sessionmaker, "invite.revoke")
    assert entry.person_id == w.people["county0"].id and entry.object == f"invite:{code}"


async def test_rebind_logs_the_old_phone_out_and_a_fresh_code_binds_the_new_one(
    site, sessionmaker, clock
):
    facts, server = site
    w, now = facts.world, clock.now()
    sec0 = w.people["sec0"]
    async with Browser(server.base_url) as old_console:
        await old_console.sign_in(sessionmaker, sec0, now)  # on the phone that is lost
        async with Browser(server.base_url) as browser:
            await browser.sign_in(sessionmaker, w.people["town0"], now)
            csrf = await browser.csrf()
            status, ask = await browser.get(f"/console/people/{sec0.id}/rebind")
            assert status == 200 and "确认换手机" in ask and "书记0" in ask
            async with sessionmaker() as s:
                assert await people.by_identity(s, "test", "ext-sec0") is not None
            resp = await browser.post(f"/console/people/{sec0.id}/rebind", {"csrf": csrf})
            found = CODE_PAGE.match(resp.headers["Location"])
            assert resp.status == 303 and found and found[2] == "rebind"
            _, page = await browser.get(resp.headers["Location"])
            assert "已解绑原来的账号" in page and "<svg" in page
            _, listed = await browser.get("/console/people")
            assert "已解绑" in row_for(listed, "书记0")
        assert (await old_console.get("/console"))[0] == 401
    async with sessionmaker() as s:
        assert await people.by_identity(s, "test", "ext-sec0") is None
    await chat_ready(server)
    async with server.client() as web:
        frames = await web.bind(found[1])
        assert "绑定成功" in frames[-1]["text"] and "书记0" in frames[-1]["text"]
    [entry] = await audits(sessionmaker, "person.rebind")
    assert entry.person_id == w.people["town0"].id and entry.object == f"person:{sec0.id}"
    assert len(entry.detail["identities"]) == 1


async def test_move_puts_a_village_cadre_in_another_village_within_scope(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    sec0 = w.people["sec0"]
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["town0"], now)
        csrf = await browser.csrf()
        far = await browser.post(
            f"/console/people/{sec0.id}/move", {"csrf": csrf, "village": str(w.villages[2].id)}
        )
        assert far.status == 403  # 杏花村 is another township's
        town = await browser.post(
            f"/console/people/{sec0.id}/move", {"csrf": csrf, "village": str(w.townships[0].id)}
        )
        assert town.status == 400
        resp = await browser.post(
            f"/console/people/{sec0.id}/move", {"csrf": csrf, "village": str(w.villages[1].id)}
        )
        assert resp.status == 303
        _, page = await browser.get(resp.headers["Location"])
        assert "已调整所在村" in page and "柳树村" in page
        same = await browser.post(
            f"/console/people/{sec0.id}/move", {"csrf": csrf, "village": str(w.villages[1].id)}
        )
        assert same.status == 400
        staff = await browser.post(
            f"/console/people/{w.people['town0'].id}/move",
            {"csrf": csrf, "village": str(w.villages[0].id)},
        )
        assert staff.status == 400  # oneself, and not a village cadre
    assert (await person_row(sessionmaker, sec0.id)).region_id == w.villages[1].id
    [entry] = await audits(sessionmaker, "person.move")
    assert entry.detail == {"from": w.villages[0].id, "to": w.villages[1].id}


async def test_deactivate_asks_first_and_the_chat_then_refuses_the_person(
    site, sessionmaker, clock
):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        csrf = await browser.csrf()
        code = await invite(browser, csrf, "将停用", "secretary", w.villages[3].id)
        await chat_ready(server)
        async with server.client() as web:
            assert "绑定成功" in (await web.bind(code))[-1]["text"]
            assert "请先绑定" not in await web.say("我的信息")
            [person_id] = [
                p.id
                for p in await _named(sessionmaker, "将停用")  # the person the code made
            ]
            status, ask = await browser.get(f"/console/people/{person_id}/deactivate")
            assert status == 200 and "确认停用" in ask and "将停用" in ask
            assert (await person_row(sessionmaker, person_id)).active  # asking changes nothing
            forged = await browser.post(f"/console/people/{person_id}/deactivate", {"csrf": "x"})
            assert forged.status == 403 and (await person_row(sessionmaker, person_id)).active
            resp = await browser.post(f"/console/people/{person_id}/deactivate", {"csrf": csrf})
            assert resp.status == 303
            _, page = await browser.get(resp.headers["Location"])
            assert "已停用" in page and "停用…" not in page
            assert "请先绑定" in await web.say("我的信息")
            again = await browser.post(f"/console/people/{person_id}/deactivate", {"csrf": csrf})
            assert again.status == 409
            me = await browser.post(
                f"/console/people/{w.people['county0'].id}/deactivate", {"csrf": csrf}
            )
            assert me.status == 400  # not oneself
    assert not (await person_row(sessionmaker, person_id)).active
    [entry] = await audits(sessionmaker, "person.deactivate")
    assert entry.person_id == w.people["county0"].id and entry.object == f"person:{person_id}"
    assert len(await audits(sessionmaker, "refused")) >= 1  # the forged form was audited


async def test_reactivate_asks_first_and_the_person_binds_again_with_a_fresh_code(
    site, sessionmaker, clock
):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        csrf = await browser.csrf()
        code = await invite(browser, csrf, "调回人", "secretary", w.villages[3].id)
        [person] = await _named(sessionmaker, "调回人")
        await chat_ready(server)
        async with server.client() as old_phone:
            assert "绑定成功" in (await old_phone.bind(code))[-1]["text"]
            active_page = (await browser.get(f"/console/people/{person.id}"))[1]
            assert "重新启用…" not in active_page
            not_stopped = await browser.post(
                f"/console/people/{person.id}/reactivate", {"csrf": csrf}
            )
            assert not_stopped.status == 409
            off = await browser.post(f"/console/people/{person.id}/deactivate", {"csrf": csrf})
            assert off.status == 303
            _, page = await browser.get(f"/console/people/{person.id}")
            assert "重新启用…" in page
            status, ask = await browser.get(f"/console/people/{person.id}/reactivate")
            assert status == 200 and "确认重新启用" in ask and "调回人" in ask
            assert not (await person_row(sessionmaker, person.id)).active  # asking changes nothing
            forged = await browser.post(f"/console/people/{person.id}/reactivate", {"csrf": "x"})
            assert forged.status == 403 and not (await person_row(sessionmaker, person.id)).active
            resp = await browser.post(f"/console/people/{person.id}/reactivate", {"csrf": csrf})
            assert resp.status == 303 and "done=reactivated" in resp.headers["Location"]
            fresh = resp.headers["Location"].split("/invites/", 1)[1].split("?", 1)[0]
            assert fresh != code
            _, shown = await browser.get(resp.headers["Location"])
            assert "已重新启用" in shown and "<svg" in shown  # the new code and its QR
            # The phone bound before the stop does not speak for the person again.
            assert "请先绑定" in await old_phone.say("我的信息")
            again = await browser.post(f"/console/people/{person.id}/reactivate", {"csrf": csrf})
            assert again.status == 409
        async with server.client() as new_phone:
            assert "绑定成功" in (await new_phone.bind(fresh))[-1]["text"]
            assert "请先绑定" not in await new_phone.say("我的信息")
    assert (await person_row(sessionmaker, person.id)).active
    [entry] = await audits(sessionmaker, "person.reactivate")
    assert entry.person_id == w.people["county0"].id and entry.object == f"person:{person.id}"
    assert len(entry.detail["identities"]) == 1


async def test_deactivating_someone_never_bound_revokes_their_code(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        csrf = await browser.csrf()
        code = await invite(browser, csrf, "未上岗", "team_member", w.villages[0].id)
        [person] = await _named(sessionmaker, "未上岗")
        resp = await browser.post(f"/console/people/{person.id}/deactivate", {"csrf": csrf})
        assert resp.status == 303
        _, page = await browser.get(f"/console/people/invites/{code}")
        assert "已过期或已撤销" in page and "<svg" not in page
    await chat_ready(server)
    async with server.client() as web:
        assert "过期" in await web.say(f"绑定 {code}")
    [entry] = await audits(sessionmaker, "person.deactivate")
    assert entry.detail == {"invites_revoked": 1}


async def _named(sm, name: str) -> list[Person]:
    async with sm() as s:
        return list(await s.scalars(sa.select(Person).where(Person.name == name)))


def _person_routes(pid: int) -> list[tuple[str, str]]:
    return [
        ("GET", f"/console/people/{pid}"),
        ("GET", f"/console/people/{pid}/rebind"),
        ("POST", f"/console/people/{pid}/rebind"),
        ("POST", f"/console/people/{pid}/move"),
        ("GET", f"/console/people/{pid}/deactivate"),
        ("POST", f"/console/people/{pid}/deactivate"),
        ("GET", f"/console/people/{pid}/reactivate"),
        ("POST", f"/console/people/{pid}/reactivate"),
    ]


async def _status(
    browser: Browser, method: str, path: str, data: dict[str, str]
) -> tuple[int, str]:
    if method == "GET":
        return await browser.get(path)
    async with browser.http.post(browser.base_url + path, data=data, allow_redirects=False) as r:
        return r.status, await r.text()


@pytest.mark.parametrize("who", ["town0", "county0", "sec0"])
async def test_another_regions_person_or_code_is_answered_like_an_unknown_one(
    site, sessionmaker, clock, who
):
    facts, server = site
    w, away, now = facts.world, facts.away, clock.now()
    async with sessionmaker() as s, s.begin():
        away_code = (
            await people.create_invite(
                s, role="secretary", region_id=away.villages[0].id, now=now, name="外县新人"
            )
        ).code
        far_code = (
            await people.create_invite(
                s, role="secretary", region_id=w.villages[2].id, now=now, name="西川新人"
            )
        ).code
    foreign = {away.people["sec"].id: "邻县sec", 999999: "", 0: ""}
    codes = {away_code: "外县新人", "NOSUCH99": ""}
    if who != "county0":
        foreign[w.people["sec2"].id] = "书记2"  # another township's (or village's) secretary
        codes[far_code] = "西川新人"
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people[who], now)
        csrf = await browser.csrf()
        data = {"csrf": csrf, "village": str(w.villages[0].id)}
        for pid, name in foreign.items():
            for method, path in _person_routes(pid):
                status, page = await _status(browser, method, path, data)
                expected = {403} if who == "sec0" and method == "POST" else {404}
                if who == "sec0" and path.endswith(("rebind", "deactivate", "reactivate")):
                    expected = {403}  # a secretary manages nobody: refused before any lookup
                assert status in expected, (who, method, path, status)
                assert not name or name not in page.split("<main>", 1)[1]
        for code, name in codes.items():
            for method, path in (
                ("GET", f"/console/people/invites/{code}"),
                ("POST", f"/console/people/invites/{code}/revoke"),
            ):
                status, page = await _status(browser, method, path, data)
                assert status == (403 if who == "sec0" and method == "POST" else 404), (
                    who,
                    path,
                    status,
                )
                assert not name or name not in page.split("<main>", 1)[1]
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).where(Person.active.is_(False))) == 0
    assert not await audits(sessionmaker, "invite.revoke")


async def test_every_people_post_without_the_csrf_token_is_refused(site, sessionmaker, clock):
    facts, server = site
    w, now = facts.world, clock.now()
    sec1 = w.people["sec1"].id
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, w.people["county0"], now)
        code = await invite(browser, await browser.csrf(), "甲", "secretary", w.villages[0].id)
        for path, data in (
            ("/console/people/new", {"name": "乙", "role": "secretary", "region": "1"}),
            (f"/console/people/invites/{code}/revoke", {}),
            (f"/console/people/{sec1}/rebind", {}),
            (f"/console/people/{sec1}/move", {"village": str(w.villages[0].id)}),
            (f"/console/people/{sec1}/deactivate", {}),
        ):
            resp = await browser.post(path, data)
            assert resp.status == 403, path
    assert (await person_row(sessionmaker, sec1)).region_id == w.villages[1].id
    assert (await person_row(sessionmaker, sec1)).active
    assert not await _named(sessionmaker, "乙")
    for action in ("invite.revoke", "person.rebind", "person.move", "person.deactivate"):
        assert not await audits(sessionmaker, action)
