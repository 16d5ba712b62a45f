"""The web chat under weak signal, at the server: client ids a page generates
(crypto.randomUUID) make a resend after a lost acknowledgement land once, uploads carry the
original's EXIF time, multi-line text arrives intact, and the PWA files are served right."""

from __future__ import annotations

import io
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from PIL import Image

from bot.channels import texts as channel_texts
from bot.channels.webchat.channel import TEXTS
from core.messages import MAX_TEXT
from storage.models import InboxMessage, Photo, WebChatMessage
from tests.channels.test_webchat import invite_for
from tests.factories import make_world
from tests.webclient import webchat_server

REPORT = (
    "11月10日走访记录\n"
    "1. 张三家：老人身体好转，低保材料已收齐。\n"
    "2. 李四家：屋顶漏雨，需要 2 人帮忙修补。\n"
    "\n"
    "    备注：下周再去一次\t（带上表格）"
)


def png(size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (40, 120, 200)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "PNG")
    return buf.getvalue()


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


@pytest.fixture
async def server(engine, database_url, tmp_path, clock):
    async with webchat_server(database_url, tmp_path, clock) as srv:
        await srv.ready()
        yield srv


@pytest.fixture
async def bound(server, sessionmaker, clock, world):
    code = await invite_for(sessionmaker, clock, world.people["sec0"])
    async with server.client() as web:
        frames = await web.bind(code)
        assert "绑定成功" in frames[0]["text"]
        yield web


async def stored_in(sessionmaker, cid: str) -> list[dict]:
    """The history rows of messages the person sent with this client id."""
    async with sessionmaker() as s:
        rows = (
            await s.scalars(sa.select(WebChatMessage).where(WebChatMessage.direction == "in"))
        ).all()
    return [r.body for r in rows if r.body.get("cid") == cid]


async def inbox_count(sessionmaker, cid: str) -> int:
    async with sessionmaker() as s:
        ids = (await s.scalars(sa.select(InboxMessage.message_id))).all()
    return sum(1 for m in ids if m.endswith(":" + cid))


async def test_text_resent_with_the_same_uuid_after_a_lost_ack_is_stored_once(bound, sessionmaker):
    cid = str(uuid.uuid4())
    first = await bound.send("我的信息", id=cid)
    assert first[-1]["reply_to"] == cid and first[-1]["final"] is True
    # The acknowledgement was lost: the page reconnects and sends the same message again.
    await bound.reconnect()
    again = await bound.send("我的信息", id=cid)
    assert again == [{"type": "ack", "reply_to": cid, "duplicate": True, "final": True}]
    assert len(await stored_in(sessionmaker, cid)) == 1
    assert await inbox_count(sessionmaker, cid) == 1
    history = await bound.reconnect()
    assert [m["client_id"] for m in history["messages"]].count(cid) == 1


async def test_multi_line_report_reaches_the_server_intact(bound, sessionmaker):
    cid = str(uuid.uuid4())
    frames = await bound.send(REPORT, id=cid)
    assert frames[-1]["final"] is True
    assert [b["text"] for b in await stored_in(sessionmaker, cid)] == [REPORT]
    async with sessionmaker() as s:
        payloads = (await s.scalars(sa.select(InboxMessage.payload))).all()
    assert REPORT in [p.get("text") for p in payloads]


async def test_too_long_text_is_refused_in_chinese_and_not_stored(bound, sessionmaker):
    cid = str(uuid.uuid4())
    frames = await bound.send("长" * (MAX_TEXT + 1), id=cid)
    assert frames == [{"type": "error", "text": channel_texts.TOO_LONG, "reply_to": cid}]
    assert "最多 2000 字" in channel_texts.TOO_LONG
    assert await stored_in(sessionmaker, cid) == []
    # Exactly at the limit is taken.
    ok = await bound.send("长" * MAX_TEXT, id=str(uuid.uuid4()))
    assert ok[-1]["type"] in ("reply", "ack")


async def test_photo_resent_with_the_same_uuid_is_stored_once(bound, sessionmaker):
    cid = str(uuid.uuid4())
    data = png()
    status, first = await bound.upload(data, "a.png", id=cid)
    assert status == 200 and first["ok"] is True
    assert first["reply_to"] == cid and first["duplicate"] is False
    status, again = await bound.upload(data, "a.png", id=cid)
    assert status == 200 and again["duplicate"] is True
    assert again["frames"] == [{"type": "ack", "reply_to": cid, "duplicate": True, "final": True}]
    assert len(await stored_in(sessionmaker, cid)) == 1
    assert await inbox_count(sessionmaker, cid) == 1


async def test_upload_keeps_the_exif_time_the_page_read_from_the_original(bound, sessionmaker):
    status, body = await bound.upload(png(color=(1, 2, 3)), "a.png", taken_at="2026:11:10 09:30:00")
    assert status == 200 and body["ok"] is True
    # A broken camera clock is no reason to lose the photo: it is stored without a time.
    status, body = await bound.upload(png(color=(4, 5, 6)), "b.png", taken_at="0000:00:00 00:00:00")
    assert status == 200 and body["ok"] is True
    async with sessionmaker() as s:
        photos = (await s.scalars(sa.select(Photo).order_by(Photo.id))).all()
    assert [p.taken_at is not None for p in photos] == [True, False]
    local = photos[0].taken_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert local.replace(tzinfo=None) == datetime(2026, 11, 10, 9, 30)


@pytest.mark.parametrize("bad", ["x" * 65, "a b", "../../etc", "编号", ""])
async def test_upload_with_a_malformed_client_id_is_refused_and_nothing_stored(
    bound, sessionmaker, bad
):
    status, body = await bound.upload(png(), "a.png", id=bad)
    assert status == 400 and body == {"ok": False, "type": "error", "text": TEXTS["bad_id"]}
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0


async def test_manifest_service_worker_and_icons_are_served_with_their_types(server):
    async with server.client() as web:
        assert web.http is not None
        async with web.http.get(server.url("/chat/manifest.webmanifest")) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/manifest+json"
            manifest = json.loads(await resp.text())
        assert manifest["start_url"] == "/chat" and manifest["scope"] == "/chat"
        assert manifest["display"] == "standalone" and manifest["name"] == "村务助手"
        async with web.http.get(server.url("/chat/sw.js")) as resp:
            assert resp.status == 200
            assert resp.content_type == "text/javascript"
            assert resp.headers["Service-Worker-Allowed"] == "/chat"
            assert "no-cache" in resp.headers["Cache-Control"]
            assert "caches.open" in await resp.text()
        for icon in manifest["icons"]:
            async with web.http.get(server.url(icon["src"])) as resp:
                assert resp.status == 200 and resp.content_type == icon["type"]
                data = await resp.read()
            if icon["type"] == "image/png":
                width, height = Image.open(io.BytesIO(data)).size
                assert f"{width}x{height}" == icon["sizes"]
        assert 'rel="manifest" href="/chat/manifest.webmanifest"' in web.page
        assert "maxlength" not in web.page and "<textarea" in web.page
