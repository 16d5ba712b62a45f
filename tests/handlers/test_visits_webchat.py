"""The guided visit flow end to end over the real web chat (aiohttp server, WebSocket, upload)."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa
from PIL import Image

from storage import people
from storage.models import Photo, Problem, Visit
from tests.factories import add_household, make_world
from tests.webclient import webchat_server


def jpeg(color: tuple[int, int, int] = (90, 140, 60)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), color).save(buf, "JPEG")
    return buf.getvalue()


@pytest.fixture
async def setup(engine, sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        hh = await add_household(s, world.villages[0].id, "HH0001", "王三女", "监测户", clock.now())
        invite = await people.create_invite(
            s, role="secretary", region_id=world.villages[0].id, now=clock.now(),
            person_id=world.people["sec0"].id,
        )  # fmt: skip
    return hh.id, invite.code


def buttons(frames) -> list[str]:
    return [b["payload"] for f in frames for b in f.get("buttons", [])]


async def test_guided_visit_over_the_web_chat_websocket(
    setup, database_url, tmp_path, clock, sessionmaker
):
    household_id, code = setup
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as web:
            await web.bind(code)
            start = await web.send("走访")
            assert f"visit:hh:{household_id}" in buttons(start)
            first = await web.press(f"visit:hh:{household_id}", "王三女")
            assert "visit:chk:water:ok" in buttons(first)
            await web.press("visit:chk:water:ok")
            await web.press("visit:chk:education:ok")
            await web.press("visit:chk:medical:ok")
            await web.press("visit:chk:housing:problem")
            await web.send("屋顶漏雨")
            note = await web.press("visit:chk:income:ok")
            assert buttons(note) == ["visit:skip"]
            await web.send("老人腿脚不便")
            status, body = await web.upload(jpeg(), "visit.jpg", "image/jpeg")
            assert status == 200 and "共 1 张" in body["frames"][0]["text"]
            await web.press("visit:next")
            summary = await web.location(30.25, 120.16, "王三女家")
            assert any("请核对走访记录" in f.get("text", "") for f in summary)
            saved = await web.press("visit:confirm")
            assert "已保存 王三女" in saved[0]["text"]
            # A reopened page shows the conversation, including the saved visit.
            history = await web.reconnect()
            assert any("已保存 王三女" in m.get("text", "") for m in history["messages"])
    async with sessionmaker() as s:
        [visit] = (await s.scalars(sa.select(Visit))).all()
        [photo] = (await s.scalars(sa.select(Photo))).all()
        [problem] = (await s.scalars(sa.select(Problem))).all()
    assert visit.household_id == household_id and visit.note == "老人腿脚不便"
    assert (visit.lat, visit.lon) == (30.25, 120.16)
    assert visit.checklist["housing"] == {"status": "problem", "text": "屋顶漏雨"}
    assert photo.visit_id == visit.id
    assert problem.kind == "住房安全" and problem.status == "open"


async def test_photos_of_a_visit_come_back_as_images_over_the_web_chat(
    setup, database_url, tmp_path, clock, sessionmaker
):
    _household_id, code = setup
    async with webchat_server(database_url, tmp_path, clock) as server:
        async with server.client() as web:
            await web.bind(code)
            await web.send("走访 王三女 饮水正常")
            status, _body = await web.upload(jpeg(), "visit.jpg", "image/jpeg")
            assert status == 200
            assert "附照片 1 张" in (await web.press("visit:confirm"))[0]["text"]
            # a photo after the saved visit is asked about, over the socket too
            status, body = await web.upload(jpeg((10, 20, 200)), "next.jpg", "image/jpeg")
            assert status == 200 and "哪一户" in body["frames"][0]["text"]
            frames = await web.send("照片")
            assert "有 1 张照片" in frames[0]["text"]
            [shown] = [f for f in frames if f.get("image")]
            assert [b["label"] for b in shown["buttons"]] == ["移到别户", "移除"]
            got, data = await web.get(shown["image"])
            assert got == 200 and data[:2] == b"\xff\xd8"  # the photo itself, to its owner
