"""Web chat hygiene over a real aiohttp server and real WebSocket clients: a fresh browser id
on binding (no session fixation), logout, Origin, security headers, binding and storage
limits, and the flood guard telling the page what it dropped."""

from __future__ import annotations

import asyncio
import io
import json
from datetime import timedelta

import aiohttp
import pytest
import sqlalchemy as sa
from PIL import Image
from yarl import URL

from bot.channels.webchat import guard
from bot.channels.webchat.channel import COOKIE, HUB, TEXTS
from bot.web import headers
from core.payloads import LogoutCancel, LogoutConfirm
from handlers import texts
from services import people as people_service
from storage import outbox, people
from storage.models import Audit, Identity, InboxMessage, Photo
from tests.factories import make_world
from tests.webclient import WebChatClient, webchat_server


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


@pytest.fixture
async def server(engine, database_url, tmp_path, clock):
    async with webchat_server(database_url, tmp_path, clock) as srv:
        yield srv


async def invite_for(sessionmaker, clock, person) -> str:
    async with sessionmaker() as s, s.begin():
        inv = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return inv.code


async def count(sessionmaker, query) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(query) or 0)


def cookie_of(web: WebChatClient) -> str:
    return web.cookies[COOKIE]


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (32, 24), (10, 120, 40)).save(buf, "PNG")
    return buf.getvalue()


async def test_a_planted_browser_id_gets_nothing_of_the_victim(server, sessionmaker, clock, world):
    victim = world.people["sec0"]
    code = await invite_for(sessionmaker, clock, victim)
    async with server.client() as attacker, server.client() as web:
        planted = cookie_of(attacker)
        # The attacker's id is planted in the victim's browser before the victim binds.
        await web.disconnect()
        web.http.cookie_jar.update_cookies({COOKIE: planted}, URL(server.base_url))
        await web.connect()
        frames = await web.bind(code)
        assert "绑定成功" in frames[-1]["text"]
        status = next(f for f in web.frames if f["type"] == "status")
        assert status["bound"] is True and status["session"]
        assert cookie_of(web) != planted  # adopted: the victim has a new id
        new_id = cookie_of(web).rpartition(".")[0]
        async with sessionmaker() as s:
            ids = set(await s.scalars(sa.select(Identity.external_id)))
        assert new_id in ids and planted.rpartition(".")[0] not in ids

        # A push to the victim reaches the victim's page, not the attacker's open socket.
        async with sessionmaker() as s, s.begin():
            await outbox.enqueue(
                s, recipient_id=victim.id, body={"text": "私密推送"}, key="t:1", now=clock.now()
            )
        server.wake_delivery()
        assert (await web.next_push(timeout=15))["text"] == "私密推送"
        await asyncio.sleep(0.2)  # the attacker's socket would have had it in the same call
        assert not [f for f in attacker.frames if f["type"] in ("push", "status")]

        # Reconnecting with the planted id: unbound, no history, the victim's data unreachable.
        history = await attacker.reconnect()
        assert history == {"type": "history", "bound": False, "messages": []}
        assert await attacker.say("我的信息") == texts.UNBOUND
        status_code, _ = await attacker.upload(png(), "a.png")
        assert status_code == 403
        # The victim's new id has the history.
        history = await web.reconnect()
        assert history["bound"] is True
        assert any(m["text"] == "私密推送" for m in history["messages"])


async def test_a_forged_or_expired_session_token_sets_no_cookie(server, clock):
    hub = server.app[HUB]
    async with server.client() as web:
        before = cookie_of(web)
        for token in ["x", "abc.123.def", {"a": 1}, hub.session_token("someone")[:-2] + "00"]:
            async with web.http.post(server.url("/chat/session"), json={"token": token}) as r:
                assert r.status == 400
                assert (await r.json())["text"] == TEXTS["session_bad"]
        old = hub.session_token("someone")
        clock.advance(minutes=11)
        async with web.http.post(server.url("/chat/session"), json={"token": old}) as r:
            assert r.status == 400
        assert cookie_of(web) == before


async def test_logout_asks_first_then_ends_this_browser_only(server, sessionmaker, clock, world):
    person = world.people["sec0"]
    async with server.client() as web, server.client() as other:
        await web.bind(await invite_for(sessionmaker, clock, person))
        await other.bind(await invite_for(sessionmaker, clock, person))
        asked = await web.send("解绑")
        assert asked[0]["text"] == texts.LOGOUT_CONFIRM
        payloads = [b["payload"] for b in asked[0]["buttons"]]
        assert payloads == [LogoutConfirm().pack(), LogoutCancel().pack()]
        assert (await web.press(LogoutCancel().pack()))[0]["text"] == texts.LOGOUT_KEPT
        assert (await web.reconnect())["bound"] is True

        assert (await web.send("/logout"))[0]["text"] == texts.LOGOUT_CONFIRM
        old_cookie = cookie_of(web)
        done = await web.press(LogoutConfirm().pack())
        assert done[0]["text"] == texts.LOGOUT_DONE
        status = [f for f in web.frames if f["type"] == "status"][-1]
        assert status["bound"] is False and status["session"]
        assert cookie_of(web) != old_cookie
        assert await web.reconnect() == {"type": "history", "bound": False, "messages": []}
        # The old cookie is nobody's now; the person's other browser is still bound.
        async with server.client() as thief:
            await thief.disconnect()
            thief.http.cookie_jar.update_cookies({COOKIE: old_cookie}, URL(server.base_url))
            assert (await thief.connect())["bound"] is False
        assert (await other.reconnect())["bound"] is True
        async with sessionmaker() as s:
            logouts = list(await s.scalars(sa.select(Audit).where(Audit.action == "logout")))
        assert [a.person_id for a in logouts] == [person.id]


async def test_a_foreign_origin_is_refused_on_the_socket_and_uploads(
    server, sessionmaker, clock, world, tmp_path
):
    async with server.client() as web:
        await web.bind(await invite_for(sessionmaker, clock, world.people["sec0"]))
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await web.http.ws_connect(server.url("/chat/ws"), origin="https://evil.example")
        assert refused.value.status == 403
        for origin in ["https://evil.example", "null", server.base_url + ".evil.example"]:
            form = aiohttp.FormData()
            form.add_field("photo", png(), filename="a.png", content_type="image/png")
            async with web.http.post(
                server.url("/chat/upload"), data=form, headers={"Origin": origin}
            ) as resp:
                assert resp.status == 403
                assert await resp.text() == headers.FOREIGN_ORIGIN
        assert await count(sessionmaker, sa.select(sa.func.count(Photo.id))) == 0
        media = tmp_path / "var" / "media"
        assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
        # The page's own origin (and no Origin at all, e.g. this test client) are allowed.
        ws = await web.http.ws_connect(server.url("/chat/ws"), origin=server.base_url)
        assert json.loads((await ws.receive()).data)["bound"] is True
        await ws.close()
        form = aiohttp.FormData()
        form.add_field("photo", png(), filename="a.png", content_type="image/png")
        async with web.http.post(
            server.url("/chat/upload"), data=form, headers={"Origin": server.base_url}
        ) as resp:
            assert resp.status == 200


async def test_security_headers_on_the_page_and_other_responses(server):
    async with aiohttp.ClientSession() as http:
        for path in ["/chat", "/chat/static/chat.js", "/healthz", "/no-such-page"]:
            async with http.get(server.url(path)) as resp:
                assert resp.headers["Content-Security-Policy"] == headers.CSP, path
                assert resp.headers["X-Frame-Options"] == "DENY"
                assert resp.headers["X-Content-Type-Options"] == "nosniff"
                assert resp.headers["Referrer-Policy"] == "same-origin"
        async with http.get(server.url("/chat")) as resp:
            page = await resp.text()
        assert "<script>" not in page and "<style" not in page and " style=" not in page


async def test_the_sixth_wrong_code_locks_the_browser_even_with_a_right_code(
    server, sessionmaker, clock, world
):
    code = await invite_for(sessionmaker, clock, world.people["sec0"])
    async with server.client() as web:
        for i in range(5):
            assert await web.say(f"绑定 WRONG{i:03d}") == people_service.BIND_UNKNOWN
        locked = people_service.BIND_LOCKED.format(minutes=10)
        assert await web.say("绑定 WRONG999") == locked
        assert await web.say(f"绑定 {code}") == locked  # a correct code is refused too
        clock.advance(minutes=5)
        assert await web.say(f"绑定 {code}") == people_service.BIND_LOCKED.format(minutes=5)
        async with sessionmaker() as s:
            rows = list(await s.scalars(sa.select(Audit).where(Audit.action.like("bind%"))))
        failed = [a for a in rows if a.action == "bind.failed"]
        assert len(failed) == 10  # five per browser, five per address
        assert len([a for a in rows if a.action == "bind.locked"]) == 3
        assert all(a.detail["address"] == "127.0.0.1" for a in failed)
        clock.advance(minutes=5, seconds=1)
        assert "绑定成功" in await web.say(f"绑定 {code}")


async def test_twenty_wrong_codes_from_one_address_lock_it(server, sessionmaker, clock, world):
    code = await invite_for(sessionmaker, clock, world.people["sec0"])
    for b in range(4):
        async with server.client() as web:
            for i in range(5):
                assert await web.say(f"绑定 W{b}X{i}") == people_service.BIND_UNKNOWN
    async with server.client() as fresh:
        assert await fresh.say(f"绑定 {code}") == people_service.BIND_LOCKED.format(minutes=10)


async def test_an_unbound_visitors_31st_message_is_answered_but_not_stored(server, sessionmaker):
    inbox = sa.select(sa.func.count(InboxMessage.id))
    limits = server.app[HUB].limits
    limits.burst, limits.frames_per_second = 100, 100.0  # this test is not about the flood guard
    async with server.client() as web:
        for i in range(guard.UNBOUND_MAX_MESSAGES):
            assert await web.say(f"你好 {i}") == texts.UNBOUND
        assert await count(sessionmaker, inbox) == 30
        assert await web.say("第三十一条") == texts.UNBOUND
        assert await count(sessionmaker, inbox) == 30
    async with server.client() as web:  # characters: 2 x 2,000 stored, the third 2,000 not
        assert await web.say("长" * 2000) == texts.UNBOUND
        assert await web.say("长" * 2000) == texts.UNBOUND
        assert await web.say("长" * 2000) == texts.UNBOUND
        assert await count(sessionmaker, inbox) == 32


async def test_a_flood_gets_error_frames_naming_the_dropped_ids(server, sessionmaker):
    limits = server.app[HUB].limits
    limits.burst, limits.frames_per_second = 3, 0.0001
    async with server.client() as web:
        ids = [f"f{i}" for i in range(40)]
        for cid in ids:
            await web.send_raw(json.dumps({"type": "text", "text": "hi", "id": cid}))
        answered: set[str] = set()
        reported: list[str] = []
        errors: list[dict] = []
        for _ in range(300):
            errors = [f for f in web.frames if f["type"] == "error"]
            reported = [i for e in errors for i in e["dropped"]]
            answered = {f["reply_to"] for f in web.frames if f["type"] == "reply"}
            if len(answered) + len(reported) >= len(ids):
                break
            await asyncio.sleep(0.02)
        assert answered == set(ids[:3])
        assert sorted(reported, key=ids.index) == ids[3:]  # each dropped id reported once
        assert all(e["text"] == TEXTS["too_fast"] == "发得太快了，请稍等几秒再发。" for e in errors)
        assert len(errors) <= 3 < len(reported)  # one frame per second, not one per drop
        assert all(e["reply_to"] == e["dropped"][0] for e in errors)
    assert await count(sessionmaker, sa.select(sa.func.count(InboxMessage.id))) == 3


async def test_bind_wait_counts_only_the_window(sessionmaker, clock):
    async with sessionmaker() as s, s.begin():
        for _ in range(5):
            with pytest.raises(people_service.Invalid):
                await people_service.bind(
                    s, channel="telegram", external_id="42", code="NOPE", now=clock.now()
                )
        wait = await people_service.bind_wait(
            s, channel="telegram", external_id="42", now=clock.now()
        )
        assert wait == 10
        later = clock.now() + timedelta(minutes=10, seconds=1)
        assert (
            await people_service.bind_wait(s, channel="telegram", external_id="42", now=later)
            is None
        )


async def _say_raw(ws: aiohttp.ClientWebSocketResponse, text: str, cid: str) -> str:
    await ws.send_str(json.dumps({"type": "text", "text": text, "id": cid}))
    while True:
        data = json.loads((await ws.receive(timeout=15)).data)
        if data.get("reply_to") == cid and data.get("final"):
            return str(data["text"])


async def test_behind_a_local_proxy_the_forwarded_address_is_limited(server):
    async def browser(forwarded: str | None, guesses: int) -> str:
        extra = {"X-Forwarded-For": f"10.0.0.9, {forwarded}"} if forwarded else {}
        async with aiohttp.ClientSession(headers=extra) as http:
            ws = await http.ws_connect(server.url("/chat/ws"))
            assert json.loads((await ws.receive()).data)["type"] == "history"
            said = ""
            for i in range(guesses):
                said = await _say_raw(ws, f"绑定 P{i:02d}Q", f"g{i}")
            await ws.close()
            return said

    for _ in range(4):  # 4 browsers x 5 wrong codes from 203.0.113.5
        assert await browser("203.0.113.5", 5) == people_service.BIND_UNKNOWN
    locked = people_service.BIND_LOCKED.format(minutes=10)
    assert await browser("203.0.113.5", 1) == locked
    # Another forwarded address, and the proxy's own (no header), are not locked by it.
    assert await browser("198.51.100.7", 1) == people_service.BIND_UNKNOWN
    assert await browser(None, 1) == people_service.BIND_UNKNOWN
