"""Console sign-in: a one-time link (chat 后台 or `cunbot login-link`), a session cookie,
CSRF tokens on every POST, server-side sign-out, all audited."""

from __future__ import annotations

import asyncio
import json
from datetime import timedelta

import pytest
import sqlalchemy as sa

from bot.cli import main
from services import console_auth
from storage import console_auth as store
from storage.models import Audit, ConsoleLink, ConsoleSession
from tests.bot.web.console_kit import Browser, issue
from tests.chat import ChatDriver
from tests.factories import bind, make_world
from tests.webclient import webchat_server


@pytest.fixture
async def site(sessionmaker, clock, database_url, tmp_path):
    world = await make_world(sessionmaker, clock.now())
    async with webchat_server(database_url, tmp_path, clock, run_workers=False) as server:
        yield world, server


async def _audit(sm) -> list[tuple[str, str, dict]]:
    async with sm() as s:
        rows = await s.execute(
            sa.select(Audit.action, Audit.object, Audit.detail).order_by(Audit.id)
        )
        return [tuple(r) for r in rows]


async def test_login_link_works_once(site, sessionmaker, clock):
    world, server = site
    county = world.people["county0"]
    url = await issue(sessionmaker, county, clock.now(), server.base_url)
    async with Browser(server.base_url) as first:
        assert await first.open_link(url) == (303, "/console")
        status, page = await first.get("/console")
        assert status == 200 and "概览" in page and county.name in page
    async with Browser(server.base_url) as second:
        status, page = await second.get(url)
        assert status == 403 and "已经用过" in page
        assert (await second.get("/console"))[0] == 401
    actions = [a for a, _, _ in await _audit(sessionmaker)]
    assert actions[:2] == ["console.link", "console.login"]
    refused = [d for a, _, d in await _audit(sessionmaker) if a == "refused"]
    assert refused[-1]["reason"] == "link_used" and refused[-1]["via"] == "console"


async def test_expired_login_link_is_refused(site, sessionmaker, clock):
    world, server = site
    url = await issue(sessionmaker, world.people["town0"], clock.now(), server.base_url)
    clock.advance(minutes=10, seconds=1)
    async with Browser(server.base_url) as browser:
        status, page = await browser.get(url)
        assert status == 403 and "已过期" in page
        # Even with the form of a page opened in time, the POST is refused once expired.
        assert (await browser.open_link(url))[0] == 403
        assert (await browser.get("/console"))[0] == 401


async def test_unknown_or_garbled_link_is_refused_without_5xx(site):
    _, server = site
    async with Browser(server.base_url) as browser:
        for query in ("?t=nope", "?t=", "", "?t=" + "x" * 5000, "?t=%00%ff"):
            status, page = await browser.get("/console/login" + query)
            assert status == 403 and "无效" in page, query


async def test_someone_elses_link_is_refused_in_a_signed_in_browser(site, sessionmaker, clock):
    world, server = site
    mine, theirs = world.people["town0"], world.people["town1"]
    other_url = await issue(sessionmaker, theirs, clock.now(), server.base_url)
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, mine, clock.now())
        status, page = await browser.get(other_url)
        assert status == 403 and "发给别人" in page
        # Still signed in as the first person, and the other link was not spent.
        assert mine.name in (await browser.get("/console"))[1]
    async with Browser(server.base_url) as owner:
        assert await owner.open_link(other_url) == (303, "/console")
        assert theirs.name in (await owner.get("/console"))[1]


async def test_link_and_session_tokens_are_stored_only_as_hashes(site, sessionmaker, clock):
    world, server = site
    url = await issue(sessionmaker, world.people["sec0"], clock.now(), server.base_url)
    token = url.split("t=", 1)[1]
    async with Browser(server.base_url) as browser:
        await browser.open_link(url)
        cookie = browser.cookie("cunbot_console")
    assert cookie
    async with sessionmaker() as s:
        links = (await s.execute(sa.select(ConsoleLink.token_sha256))).scalars().all()
        sessions = (await s.execute(sa.select(ConsoleSession.token_sha256))).scalars().all()
    assert links == [store.digest(token)] and sessions == [store.digest(cookie)]


async def test_session_cookie_is_httponly_lax_and_scoped_to_the_console(site, sessionmaker, clock):
    world, server = site
    url = await issue(sessionmaker, world.people["county0"], clock.now(), server.base_url)
    async with Browser(server.base_url) as browser:
        _, page = await browser.get(url)
        pre = page.split('name="pre" value="', 1)[1].split('"', 1)[0]
        resp = await browser.post("/console/login", {"t": url.split("t=", 1)[1], "pre": pre})
    header = next(h for h in resp.headers.getall("Set-Cookie") if h.startswith("cunbot_console="))
    assert "HttpOnly" in header and "SameSite=Lax" in header and "Path=/console" in header
    assert "Max-Age=43200" in header and "Secure" not in header  # http:// public URL


async def test_session_cookie_is_secure_when_the_public_url_is_https(
    sessionmaker, clock, database_url, tmp_path
):
    world = await make_world(sessionmaker, clock.now())
    async with webchat_server(
        database_url, tmp_path, clock, run_workers=False, public_url="https://cun.example.cn"
    ) as server:
        url = await issue(sessionmaker, world.people["county0"], clock.now(), server.base_url)
        async with Browser(server.base_url) as browser, browser.http.get(url) as resp:
            assert resp.status == 200
            headers = resp.headers.getall("Set-Cookie")
    # Secure: a browser sends it back over https only (so this plain-http client cannot).
    assert headers and all("Secure" in h and "HttpOnly" in h for h in headers)


async def test_session_ends_after_twelve_hours(site, sessionmaker, clock):
    world, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
        clock.advance(hours=11, minutes=59)
        assert (await browser.get("/console"))[0] == 200
        clock.advance(minutes=2)
        status, page = await browser.get("/console")
        assert status == 401 and "后台" in page


async def test_logout_revokes_the_session_on_the_server(site, sessionmaker, clock):
    world, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
        cookie = browser.cookie("cunbot_console")
        resp = await browser.post("/console/logout", {"csrf": await browser.csrf()})
        assert resp.status == 200
    # The old cookie, replayed by another client, opens nothing any more.
    async with Browser(server.base_url) as thief:
        thief.http.cookie_jar.update_cookies({"cunbot_console": cookie})
        assert (await thief.get("/console"))[0] == 401
    assert "console.logout" in [a for a, _, _ in await _audit(sessionmaker)]


async def test_console_post_without_csrf_token_is_refused(site, sessionmaker, clock):
    world, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
        resp = await browser.post("/console/logout", {})
        assert resp.status == 403
        assert (await browser.get("/console"))[0] == 200  # still signed in
    refused = [d for a, _, d in await _audit(sessionmaker) if a == "refused"]
    assert refused and refused[-1]["reason"] == "csrf"


async def test_console_post_with_a_wrong_csrf_token_is_refused(site, sessionmaker, clock):
    world, server = site
    async with Browser(server.base_url) as other:
        await other.sign_in(sessionmaker, world.people["county1"], clock.now())
        foreign_token = await other.csrf()
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
        for token in ("x", foreign_token, (await browser.csrf()) + "x"):
            resp = await browser.post("/console/logout", {"csrf": token})
            assert resp.status == 403, token
        assert (await browser.get("/console"))[0] == 200


async def test_console_post_from_another_site_is_refused(site, sessionmaker, clock):
    world, server = site
    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["county0"], clock.now())
        resp = await browser.post(
            "/console/logout",
            {"csrf": await browser.csrf()},
            headers={"Origin": "https://evil.example"},
        )
        assert resp.status == 403
        assert (await browser.get("/console"))[0] == 200


async def test_login_post_without_the_forms_own_cookie_is_refused(site, sessionmaker, clock):
    world, server = site
    url = await issue(sessionmaker, world.people["county0"], clock.now(), server.base_url)
    async with Browser(server.base_url) as victim:
        resp = await victim.post("/console/login", {"t": url.split("t=", 1)[1], "pre": "guess"})
        assert resp.status == 403
        assert (await victim.get("/console"))[0] == 401
    async with Browser(server.base_url) as owner:  # the link was not spent by the attempt
        assert await owner.open_link(url) == (303, "/console")


async def test_deactivated_person_is_signed_out_at_once(site, sessionmaker, clock):
    world, server = site
    from storage import people

    async with Browser(server.base_url) as browser:
        await browser.sign_in(sessionmaker, world.people["sec0"], clock.now())
        async with sessionmaker() as s, s.begin():
            await people.set_active(s, world.people["sec0"].id, False)
        assert (await browser.get("/console"))[0] == 401


async def test_console_command_in_chat_gives_a_working_link(site, sessionmaker, clock, rules):
    world, server = site
    await bind(sessionmaker, world.people["town0"], "test", "wx-town0", clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    for word in ("后台", "工作台", "/console"):
        replies = await chat.send("wx-town0", word)
        assert replies[0].link and "/console/login?t=" in replies[0].link
        assert replies[0].link in replies[0].text
    # The link names the rules' public URL; opened against this server it signs in.
    path = replies[0].link.split("/console/login", 1)[1]
    async with Browser(server.base_url) as browser:
        status, where = await browser.open_link(server.base_url + "/console/login" + path)
        assert (status, where) == (303, "/console")
        assert world.people["town0"].name in (await browser.get("/console"))[1]
    # An unbound sender is asked to bind first and gets no link.
    replies = await chat.send("wx-stranger", "后台")
    assert not replies[0].link and "绑定" in replies[0].text


def test_cli_login_link_prints_a_link_or_json(tmp_path, monkeypatch, capsys, clock):
    from storage import db, people, regions

    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.sqlite3'}"

    async def seed() -> None:
        engine = db.make_engine(url)
        await db.upgrade(engine)
        async with db.make_sessionmaker(engine)() as s, s.begin():
            county = await regions.add(s, "county", "示范县")
            await people.add(
                s, name="县干部甲", role="county_staff", region_id=county.id, now=clock.now()
            )
        await engine.dispose()

    asyncio.run(seed())
    monkeypatch.setenv("CUNBOT_DATABASE_URL", url)
    monkeypatch.setenv("CUNBOT_PUBLIC_URL", "https://cun.example.cn/")
    assert main(["login-link", "--person", "县干部甲", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["url"].startswith("https://cun.example.cn/console/login?t=")
    assert set(out) == {"url", "expires_at"}
    assert main(["login-link", "--person", "县干部甲"]) == 0
    text = capsys.readouterr().out
    assert "县干部甲" in text and "https://cun.example.cn/console/login?t=" in text
    assert main(["login-link", "--person", "无此人"]) == 1


async def test_link_expiry_is_ten_minutes(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        link = await console_auth.issue_link(
            s, world.people["sec0"], now=clock.now(), public_url="http://x", via="cli"
        )
    assert link.expires_at - clock.now() == timedelta(minutes=10)
