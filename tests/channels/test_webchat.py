"""The web chat channel over a real aiohttp server and real WebSocket clients."""

from __future__ import annotations

import asyncio
import io
import json

import pytest
import sqlalchemy as sa
from aiohttp import WSCloseCode
from PIL import Image

from bot.appkeys import BACKGROUND, INBOUND, MEDIA, SENDERS
from bot.channels.webchat.channel import COOKIE, HUB, TEXTS
from handlers import texts, visit_texts
from storage import outbox, people
from storage import webchat as webchat_store
from storage.models import Audit, Identity, InboxMessage, OutboxMessage, WebChatMessage
from tests.factories import make_world
from tests.webclient import webchat_server


def image_bytes(
    fmt: str, size: tuple[int, int] = (64, 48), color: tuple[int, int, int] = (200, 120, 40)
) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, fmt)
    return buf.getvalue()


async def eventually(sessionmaker, outbox_id, done, rounds: int = 200):
    for _ in range(rounds):
        async with sessionmaker() as s:
            row = await s.get(OutboxMessage, outbox_id)
        if done(row):
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox row {outbox_id} stayed {row.status}")


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


@pytest.fixture
async def server(engine, database_url, tmp_path, clock, media_backend):
    async with webchat_server(database_url, tmp_path, clock, **media_backend.core) as srv:
        await srv.ready()  # a bind waits 15 s; the FAQ index may take longer on a busy box
        yield srv


async def invite_for(sessionmaker, clock, person) -> str:
    async with sessionmaker() as s, s.begin():
        inv = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return inv.code


@pytest.fixture
async def bound(server, sessionmaker, clock, world):
    """A browser bound to sec0."""
    code = await invite_for(sessionmaker, clock, world.people["sec0"])
    async with server.client() as web:
        frames = await web.bind(code)
        assert "绑定成功" in frames[0]["text"]
        yield web


async def test_healthz_reports_database_ok(server):
    async with server.client() as web:
        status, body = await web.get("/healthz")
    assert status == 200
    assert json.loads(body) == {"ok": True, "database": "ok"}


async def test_root_redirects_to_chat_page_with_signed_httponly_cookie(server):
    async with server.client() as web:
        assert "村务助手" in web.page
        assert "/chat/static/chat.js" in web.page
        raw = web.cookies[COOKIE]
        assert "." in raw
        status, body = await web.get("/")
        assert status == 200 and "村务助手" in body.decode()
        status, _ = await web.get("/chat/static/chat.css")
        assert status == 200


async def test_bind_then_text_reply_and_history_after_reconnect(server, bound, world):
    frames = await bound.send("我的信息")
    assert frames[-1]["final"] is True
    assert frames[0]["type"] == "reply"
    assert world.people["sec0"].name in frames[0]["text"]
    assert any(f["type"] == "status" and f["bound"] for f in bound.frames)
    pressed = await bound.press("nosuch:1", "收到")
    assert pressed[0]["text"] == texts.STALE_BUTTON
    history = await bound.reconnect()
    assert history["bound"] is True
    said = [(m["from"], m["text"]) for m in history["messages"]]
    assert ("me", "收到") in said  # a button press shows its label
    assert ("me", "我的信息") in said
    assert any(who == "bot" and world.people["sec0"].name in t for who, t in said)
    assert said[0][0] == "me" and said[0][1].startswith("绑定")


async def test_unbound_browser_only_learns_how_to_bind_and_has_no_history(server):
    async with server.client() as web:
        assert "请先绑定" in await web.say("我的信息")
        history = await web.reconnect()
    assert history == {"type": "history", "bound": False, "messages": []}


async def test_resent_frame_id_is_handled_once(bound):
    first = await bound.send("我的信息", id="same-1")
    again = await bound.send("我的信息", id="same-1")
    assert first[0]["type"] == "reply"
    assert again == [{"type": "ack", "reply_to": "same-1", "duplicate": True, "final": True}]
    history = await bound.reconnect()
    assert [m["text"] for m in history["messages"]].count("我的信息") == 1


@pytest.mark.parametrize("media_backend", ["local", "s3", "s3-presign"], indirect=True)
@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
async def test_photo_upload_is_stored_once_answered_and_served_to_bound_browser(
    server, bound, tmp_path, fmt, media_backend
):
    data = image_bytes(fmt)
    status, body = await bound.upload(data, "x.bin")
    assert status == 200 and body["ok"] is True
    photo_key, thumb_key = body["image"].removeprefix("/media/"), body["thumb"][len("/media/") :]
    assert await media_backend.keys(tmp_path / "var" / "media") == sorted([photo_key, thumb_key])
    if media_backend.name != "local":
        assert await media_backend.content_type(photo_key) == f"image/{fmt.lower()}"
        assert await media_backend.content_type(thumb_key) == "image/jpeg"
    # The visits feature keeps a photo sent outside any flow (no households here to offer).
    assert body["frames"][0]["text"] == visit_texts.PHOTO_WHICH_NONE
    # The same answer also went over the open socket.
    reply_to = body["frames"][0]["reply_to"]
    assert any(f.get("reply_to") == reply_to for f in bound.frames)
    status, served = await bound.get(body["image"])
    assert status == 200 and served == data
    status, thumb = await bound.get(body["thumb"])
    assert status == 200 and thumb[:3] == b"\xff\xd8\xff"
    async with bound.http.get(server.url(body["image"]), allow_redirects=False) as resp:
        if media_backend.name == "s3-presign":  # a short-lived link straight to the store
            assert resp.status == 302 and resp.headers["Location"].startswith(
                media_backend.endpoint
            )
            assert "Expires=300" in resp.headers["Location"]
        else:
            assert resp.status == 200 and resp.content_type == f"image/{fmt.lower()}"
    # The same bytes again (another message): still one object each.
    status, again = await bound.upload(data, "y.bin")
    assert status == 200 and again["image"] == body["image"]
    assert await media_backend.keys(tmp_path / "var" / "media") == sorted([photo_key, thumb_key])
    history = await bound.reconnect()
    assert history["messages"][-2]["image"] == body["image"]
    async with server.client() as stranger:
        status, _ = await stranger.get(body["image"])
        assert status == 403
        stranger.http.cookie_jar.update_cookies({COOKIE: "forged.0000"})
        status, _ = await stranger.get(body["image"])
        assert status == 403


async def test_oversize_upload_is_rejected_and_nothing_stored(bound, tmp_path):
    big = image_bytes("PNG") + b"\0" * (10 * 1024 * 1024)
    status, body = await bound.upload(big, "big.png", "image/png")
    assert status == 413 and body["text"] == TEXTS["upload_too_big"]
    media = tmp_path / "var" / "media"
    assert not media.exists() or not any(p.is_file() for p in media.rglob("*"))
    assert "我的信息" not in [f.get("text") for f in bound.frames]
    frames = await bound.send("我的信息")
    assert frames[0]["type"] == "reply"


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"this is not an image, just text", "photo.jpg"),
        (b"\x89PNG\r\n\x1a\n" + b"\0" * 200, "broken.png"),
        (b"GIF89a" + b"\0" * 100, "anim.gif"),
    ],
)
async def test_forged_or_broken_upload_is_rejected_with_chinese_reason(bound, data, name):
    status, body = await bound.upload(data, name, "image/jpeg")
    assert status == 415 and body["ok"] is False
    assert "图片" in body["text"] or "照片" in body["text"]
    assert (await bound.send("我的信息"))[0]["type"] == "reply"


async def test_upload_from_unbound_or_cookieless_browser_is_refused(server):
    async with server.client() as web:
        status, body = await web.upload(image_bytes("PNG"), "a.png")
        assert status == 403 and body["text"] == TEXTS["upload_unbound"]
        web.http.cookie_jar.clear()
        status, body = await web.upload(image_bytes("PNG"), "a.png")
        assert status == 401


async def test_malformed_frames_get_errors_and_the_socket_keeps_working(bound):
    cases = [
        ("{not json", TEXTS["bad_json"]),
        ("[1, 2]", TEXTS["not_object"]),
        (json.dumps({"type": "dance"}), TEXTS["unknown_type"]),
        (json.dumps({"type": "text", "id": "bad id with spaces"}), TEXTS["bad_id"]),
        ("x" * 40_000, TEXTS["frame_too_big"]),
        (b"\x00\x01binary", TEXTS["binary"]),
    ]
    for raw, expected in cases:
        await bound.send_raw(raw)
        error = await bound.next_error()
        assert error["text"] == expected
    invalid = [
        ({"type": "text"}, TEXTS["empty_text"]),
        ({"type": "text", "text": "   "}, TEXTS["empty_text"]),
        ({"type": "text", "text": "长" * 2001}, TEXTS["too_long"]),
        ({"type": "button"}, TEXTS["bad_button"]),
        ({"type": "location", "lat": 100, "lon": 120}, TEXTS["bad_location"]),
        ({"type": "location", "lat": True, "lon": 120}, TEXTS["bad_location"]),
        ({"type": "location", "lat": "30", "lon": 120}, TEXTS["bad_location"]),
    ]
    for frame, expected in invalid:
        answer = await bound.request(frame)
        assert answer == [{"type": "error", "text": expected, "reply_to": frame["id"]}]
    assert (await bound.send("长" * 2000))[0]["type"] == "reply"
    frames = await bound.location(30.25, 120.16, "村委会")
    assert frames[0]["text"] == visit_texts.LOCATION_LATER  # kept for the next visit report


async def test_a_flooding_socket_is_throttled_and_the_server_stays_up(server, bound):
    await bound.disconnect()
    limits = server.app[HUB].limits
    limits.burst, limits.frames_per_second = 3, 0.0001
    await bound.connect()
    for _ in range(6):
        await bound.send_raw("{junk")
    errors = [await bound.next_error() for _ in range(4)]
    assert [e["text"] for e in errors] == [TEXTS["bad_json"]] * 3 + [TEXTS["too_fast"]]
    limits.burst, limits.frames_per_second = 20, 5.0
    await bound.reconnect()
    assert (await bound.send("我的信息"))[0]["type"] == "reply"


async def test_outbox_push_appears_live_and_in_history(server, bound, sessionmaker, clock, world):
    person = world.people["sec0"]
    async with sessionmaker() as s, s.begin():
        outbox_id = await outbox.enqueue(
            s,
            recipient_id=person.id,
            body={
                "text": "新任务：请在周五前上报走访",
                "buttons": [{"label": "收到", "payload": "task:ack:1"}],
            },
            key="test:push:1",
            now=clock.now(),
        )
    server.wake_delivery()
    push = await bound.next_push(timeout=15)
    assert push["id"] == f"push-{outbox_id}"
    assert push["text"] == "新任务：请在周五前上报走访"
    assert push["buttons"] == [{"label": "收到", "payload": "task:ack:1"}]
    # The worker commits "sent" just after pushing: wait for that commit, not for time.
    row = await eventually(sessionmaker, outbox_id, lambda r: r.status != "sending")
    assert row.status == "sent" and row.channel == "webchat"
    assert row.delivered_at is not None
    history = await bound.reconnect()
    assert history["messages"][-1]["id"] == f"push-{outbox_id}"
    assert history["messages"][-1]["text"] == "新任务：请在周五前上报走访"


async def test_push_to_a_closed_page_is_kept_for_the_history(
    server, bound, sessionmaker, clock, world
):
    await bound.disconnect()
    async with sessionmaker() as s, s.begin():
        outbox_id = await outbox.enqueue(
            s,
            recipient_id=world.people["sec0"].id,
            body={"text": "离线通知"},
            key="t:2",
            now=clock.now(),
        )
    async with sessionmaker() as s:
        ident = await s.scalar(
            sa.select(Identity).where(Identity.person_id == world.people["sec0"].id)
        )
        assert ident is not None
    result = await server.app[SENDERS]["webchat"].send(
        ident.external_id, {"text": "离线通知"}, outbox_id
    )
    assert result.ok and not result.delivered
    history = await bound.connect()
    assert history["messages"][-1]["text"] == "离线通知"


async def test_shutdown_closes_sockets_with_going_away(engine, database_url, tmp_path, clock):
    async with webchat_server(database_url, tmp_path, clock) as server:
        web = server.client()
        await web.__aenter__()
    # The server is gone: the socket was closed by it, with "going away".
    await web._reader
    assert web.ws.close_code == WSCloseCode.GOING_AWAY
    await web.http.close()


async def test_shutdown_lets_an_in_flight_message_finish(
    engine, sessionmaker, database_url, tmp_path, clock, world
):
    code = await invite_for(sessionmaker, clock, world.people["sec0"])
    server_cm = webchat_server(database_url, tmp_path, clock)
    server = await server_cm.__aenter__()
    web = server.client()
    await web.__aenter__()
    await web.bind(code)
    # Hold every message before its handling (what start-up does until the FAQ index is
    # loaded), so this one is received but not yet handled.
    inbound = server.app[INBOUND]
    inbound.ready.clear()
    await web.send_raw(json.dumps({"type": "text", "text": "我的信息", "id": "late-1"}))
    late = InboxMessage.message_id.like("%:late-1")

    # The message is in flight: its handling task exists and waits.
    def in_flight() -> bool:
        return any(t.get_name() == "webchat:late-1" for t in server.app[BACKGROUND])

    for _ in range(500):
        if in_flight():
            break
        await asyncio.sleep(0.01)
    assert in_flight()
    async with sessionmaker() as s:
        row = await s.scalar(sa.select(InboxMessage).where(late))
    assert row is None  # not handled yet (receive records and handles in one transaction)
    closing = asyncio.create_task(server_cm.__aexit__(None, None, None))
    await web._reader  # the server said "going away" while the message was in flight
    assert web.ws.close_code == WSCloseCode.GOING_AWAY
    inbound.ready.set()
    await closing
    await web.http.close()
    async with sessionmaker() as s:
        row = await s.scalar(sa.select(InboxMessage).where(late))
        said = await s.scalars(sa.select(WebChatMessage.body))
        texts_said = [b.get("text") for b in said]
    assert row.handled_at is not None and row.error is None
    assert "我的信息" in texts_said


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_media_paths_cannot_leave_the_media_directory(bound, tmp_path, media_backend):
    (tmp_path / "var").mkdir(exist_ok=True)
    (tmp_path / "var" / "outside.txt").write_text("not for browsers")
    (tmp_path / "var" / "media").mkdir(exist_ok=True)
    for path in ("/media/..%2Foutside.txt", "/media/%2E%2E/outside.txt", "/media/nope.jpg"):
        status, body = await bound.get(path)
        assert status == 404 and b"not for browsers" not in body


async def test_history_shows_only_the_newest_fifty_messages(bound, sessionmaker, clock):
    browser_id = bound.cookies[COOKIE].rpartition(".")[0]
    async with sessionmaker() as s, s.begin():
        ident = await webchat_store.identity(s, "webchat", browser_id)
        for i in range(60):
            await webchat_store.add_message(
                s, ident.identity_id, "out", {"text": f"通知{i}"}, clock.now()
            )
    history = await bound.reconnect()
    assert len(history["messages"]) == webchat_store.HISTORY_LIMIT == 50
    assert history["messages"][0]["text"] == "通知10"
    assert history["messages"][-1]["text"] == "通知59"


@pytest.mark.parametrize("media_backend", ["local", "s3"], indirect=True)
async def test_photos_of_another_village_are_not_served(
    bound, server, sessionmaker, clock, world, media_backend
):
    """sec0 sees its own upload; a visit photo from sec1's village is refused."""
    from services.media import save_image
    from storage.models import Photo, Visit
    from tests.factories import add_household

    store = server.app[MEDIA]
    mine = await save_image(store, image_bytes("PNG", color=(10, 20, 30)))
    theirs = await save_image(store, image_bytes("PNG", color=(200, 20, 30)))
    now = clock.now()
    async with sessionmaker() as s, s.begin():
        house = await add_household(s, world.villages[1].id, "B-001", "李四", "脱贫户", now)
        visit = Visit(
            household_id=house.id,
            village_id=world.villages[1].id,
            visitor_id=world.people["sec1"].id,
            visited_at=now,
            month="2026-11",
            day=now.date(),
            checklist={},
            created_at=now,
            updated_at=now,
        )
        s.add(visit)
        await s.flush()
        for stored, uploader, visit_id in (
            (mine, world.people["sec0"].id, None),
            (theirs, world.people["sec1"].id, visit.id),
        ):
            s.add(
                Photo(
                    sha256=stored.sha256,
                    path=stored.path,
                    thumb_path=stored.thumb_path,
                    mime=stored.mime,
                    size=stored.size,
                    width=stored.width,
                    height=stored.height,
                    uploaded_by=uploader,
                    visit_id=visit_id,
                    created_at=now,
                )
            )
    status, _ = await bound.get(f"/media/{mine.path}")
    assert status == 200
    async with bound.http.head(server.url(f"/media/{mine.path}")) as resp:
        assert resp.status == 200 and resp.content_length == mine.size
    status, body = await bound.get(f"/media/{theirs.path}")
    assert status == 404  # like a photo that does not exist
    status, _ = await bound.get(f"/media/{theirs.thumb_path}")
    assert status == 404
    async with sessionmaker() as s:
        refused = (await s.scalars(sa.select(Audit).where(Audit.action == "refused"))).all()
    assert [a.object for a in refused] == [theirs.path[:64], theirs.thumb_path[:64]]
    assert all(a.detail["reason"] == "forbidden" for a in refused)


async def test_an_unreachable_media_store_asks_to_send_again_and_answers_503(
    engine, database_url, tmp_path, clock, sessionmaker, world
):
    from bot.channels import texts as channel_texts
    from tests.s3server import _free_port

    down = {
        "media_url": "s3://cunbot-media/x",
        "s3_endpoint_url": f"http://127.0.0.1:{_free_port()}",
        "s3_access_key_id": "k",
        "s3_secret_access_key": "s",
        "s3_region": "us-east-1",
    }
    async with webchat_server(database_url, tmp_path, clock, **down) as srv:
        await srv.ready()
        code = await invite_for(sessionmaker, clock, world.people["sec0"])
        async with srv.client() as web:
            await web.bind(code)
            status, body = await web.upload(image_bytes("PNG"), "x.png")
            assert status == 503 and body["text"] == channel_texts.PHOTO_DOWNLOAD_FAILED
            frames = await web.send("我的信息")  # the chat goes on
            assert frames[0]["type"] == "reply"
