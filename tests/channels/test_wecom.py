"""WeCom channel against a fake WeCom API and an encrypting callback client (both on 127.0.0.1)."""

from __future__ import annotations

import asyncio
import io
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from PIL import Image

from bot import appkeys as appmod
from bot.channels.wecom.channel import CHANNEL_KEY
from core.messages import Button, Reply
from handlers import texts
from services import media
from storage import people
from storage.models import Identity, InboxMessage, OutboxMessage, Photo, Visit
from tasks.delivery import Delivery
from tests.factories import add_household, bind, make_world
from tests.fakes.harness import (
    AES_KEY,
    CORP_ID,
    SECRET,
    TOKEN,
    amr_bytes,
    drain,
    jpeg_bytes,
    make_config,
    start_app,
)
from tests.fakes.wecom_api import FakeWeComApi
from tests.fakes.wecom_client import (
    WeComClient,
    event_xml,
    image_xml,
    location_xml,
    text_xml,
    voice_xml,
)


@dataclass
class WeComRig:
    server: TestServer
    api: FakeWeComApi
    client: WeComClient
    http: aiohttp.ClientSession
    clock: object

    @property
    def app(self):
        return self.server.app

    @property
    def now(self) -> int:
        return int(self.clock.now().timestamp())

    async def post(self, xml: str | bytes, **kw) -> aiohttp.ClientResponse:
        cb = self.client.callback(xml, kw.pop("timestamp", self.now), **kw)
        async with self.http.post(
            self.server.make_url("/wecom/callback"), params=cb.params, data=cb.body
        ) as resp:
            await resp.read()
            return resp

    async def inbox(self) -> list[InboxMessage]:
        async with self.app[appmod.SESSIONMAKER]() as s:
            return list(await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


@pytest.fixture
async def rig(engine, database_url, tmp_path: Path, clock) -> AsyncIterator[WeComRig]:
    api = FakeWeComApi(CORP_ID, SECRET)
    base = await api.start()
    server = await start_app(make_config(database_url, tmp_path, wecom_base=base), clock)
    async with aiohttp.ClientSession() as http:
        yield WeComRig(server, api, WeComClient(TOKEN, AES_KEY, CORP_ID), http, clock)
    await server.close()
    await api.close()


async def invite_code(sm, now, world_person) -> str:
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s,
            role=world_person.role,
            region_id=world_person.region_id,
            now=now,
            person_id=world_person.id,
        )
    return invite.code


async def test_url_verification_echoes_decrypted_echostr(rig: WeComRig) -> None:
    params = rig.client.echo("1616140317555161061", rig.now)
    async with rig.http.get(rig.server.make_url("/wecom/callback"), params=params) as resp:
        assert resp.status == 200
        assert await resp.text() == "1616140317555161061"


async def test_url_verification_with_wrong_signature_is_403(rig: WeComRig) -> None:
    params = rig.client.echo("42", rig.now) | {"msg_signature": "0" * 40}
    async with rig.http.get(rig.server.make_url("/wecom/callback"), params=params) as resp:
        assert resp.status == 403


async def test_bind_by_invite_code_replies_through_message_send(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    code = await invite_code(sm, clock.now(), world.people["sec0"])
    resp = await rig.post(text_xml("zhangsan", f"绑定 {code}", "m1", rig.now))
    assert resp.status == 200
    await drain(rig.app)
    [reply] = rig.api.texts_to("zhangsan")
    assert "书记0" in reply
    async with sm() as s:
        person = await people.by_identity(s, "wecom", "zhangsan")
    assert person is not None and person.id == world.people["sec0"].id


async def test_same_msgid_three_times_is_handled_once(rig: WeComRig) -> None:
    for _ in range(3):
        resp = await rig.post(text_xml("lisi", "帮助", "dup-1", rig.now))
        assert resp.status == 200
    await drain(rig.app)
    assert len(await rig.inbox()) == 1
    assert rig.api.texts_to("lisi") == [texts.UNBOUND_HELP]


async def test_photo_is_downloaded_on_arrival_and_reaches_the_router(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.media["MEDIA-1"] = jpeg_bytes()
    resp = await rig.post(image_xml("wang", "MEDIA-1", "img-1", rig.now))
    assert resp.status == 200
    await drain(rig.app)
    [row] = await rig.inbox()
    assert row.payload["kind"] == "photo"
    stored = Path(rig.app[appmod.RULES].media_dir) / row.payload["photo"]["path"]
    assert stored.read_bytes() == rig.api.media["MEDIA-1"]
    assert row.handled_at is not None and row.error is None
    assert len(rig.api.texts_to("wang")) == 1  # the photo handler answered


async def test_large_photo_is_downloaded_whole(rig: WeComRig, clock) -> None:
    noise = Image.frombytes("RGB", (700, 700), os.urandom(700 * 700 * 3))
    buf = io.BytesIO()
    noise.save(buf, "JPEG", quality=95)
    assert len(buf.getvalue()) > 500_000  # many network chunks
    rig.api.media["BIG"] = buf.getvalue()
    assert (await rig.post(image_xml("wang", "BIG", "img-big", rig.now))).status == 200
    await drain(rig.app)
    [row] = await rig.inbox()
    assert row.payload["photo"]["size"] == len(buf.getvalue())


async def test_image_whose_media_id_is_invalid_is_not_recorded_and_not_retried(
    rig: WeComRig,
) -> None:
    resp = await rig.post(image_xml("wang", "NO-SUCH-MEDIA", "img-2", rig.now))
    assert resp.status == 200  # a retry cannot help (40007); the person is told instead
    assert await rig.inbox() == []


async def test_voice_with_recognition_joins_the_visit_its_words_report(
    rig: WeComRig, clock
) -> None:
    """A spoken visit report: the voice note is stored, its Recognition is read as the typed
    report (the visit card opens), the voice is on that card and is saved with the visit."""
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    async with sm() as s, s.begin():
        hh = await add_household(s, world.villages[0].id, "HH0001", "杜浩", "监测户", clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.media["V-1"] = amr_bytes()
    words = "走访 杜浩 饮水正常 孩子都在上学"
    assert (await rig.post(voice_xml("wang", "V-1", "v-1", rig.now, words))).status == 200
    await drain(rig.app)
    [row] = await rig.inbox()
    assert row.payload["kind"] == "voice" and row.payload["text"] == words
    said = "\n".join(rig.api.shown_to("wang"))
    assert "杜浩" in said and "已收到语音" in said
    async with sm() as s:
        [voice] = list(await s.scalars(sa.select(Photo)))
    assert voice.kind == "voice" and voice.mime == "audio/amr" and voice.visit_id is None
    stored = Path(rig.app[appmod.RULES].media_dir) / voice.path
    assert stored.read_bytes() == amr_bytes() and voice.path.endswith(".amr")

    assert (await rig.post(text_xml("wang", "确认", "v-2", rig.now))).status == 200
    await drain(rig.app)
    async with sm() as s:
        [visit] = list(await s.scalars(sa.select(Visit).where(Visit.household_id == hh.id)))
        voice = await s.get(Photo, voice.id)
    assert visit.note and "饮水正常" in visit.note
    assert voice is not None and voice.visit_id == visit.id


async def test_voice_outside_any_visit_asks_which_household(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    async with sm() as s, s.begin():
        await add_household(s, world.villages[0].id, "HH0001", "杜浩", "监测户", clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.media["V-2"] = amr_bytes(b"b")
    assert (await rig.post(voice_xml("wang", "V-2", "v-3", rig.now))).status == 200
    await drain(rig.app)
    [said] = rig.api.shown_to("wang")
    assert "收到语音" in said and "哪一户" in said


async def test_voice_that_is_not_audio_is_refused_in_chinese(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.media["V-3"] = jpeg_bytes()  # an image sent as a voice: the bytes decide
    assert (await rig.post(voice_xml("wang", "V-3", "v-4", rig.now))).status == 200
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.texts_to("wang") == [media.NOT_VOICE]


async def test_voice_without_media_id_is_rejected(rig: WeComRig) -> None:
    voice = voice_xml("wang", "", "v-5", rig.now)
    assert (await rig.post(voice)).status == 400
    assert await rig.inbox() == []


async def test_location_becomes_incoming_location(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    resp = await rig.post(location_xml("wang", 30.5, 114.25, "石门村委会", "loc-1", rig.now))
    assert resp.status == 200
    await drain(rig.app)
    [row] = await rig.inbox()
    assert (row.payload["kind"], row.payload["lat"], row.payload["lon"]) == (
        "location",
        30.5,
        114.25,
    )
    assert row.payload["label"] == "石门村委会"
    assert len(rig.api.texts_to("wang")) == 1  # the location handler answered


async def test_menu_click_is_a_button_and_event_retries_are_deduplicated(rig: WeComRig) -> None:
    for _ in range(3):
        assert (await rig.post(event_xml("zhao", "click", "help:menu", rig.now))).status == 200
    assert (await rig.post(event_xml("zhao", "enter_agent", "", rig.now))).status == 200
    await drain(rig.app)
    rows = await rig.inbox()
    assert [(r.payload["kind"], r.payload["payload"]) for r in rows] == [
        ("button", "help:menu"),
        ("event", "enter_agent"),
    ]
    assert rows[0].message_id == f"zhao:{rig.now}:click:help:menu"


BAD = "<xml><ToUserName>x</ToUserName></xml>"


@pytest.mark.parametrize(
    "case",
    [
        "wrong_signature",
        "stale_timestamp",
        "bad_padding",
        "wrong_receive_id",
        "malformed_inner_xml",
        "malformed_outer_xml",
        "entity_declaration",
        "oversized_body",
        "oversized_chunked_body",
        "missing_query",
        "not_base64",
    ],
)
async def test_bad_callback_is_4xx_and_stores_nothing(
    rig: WeComRig, case: str, caplog: pytest.LogCaptureFixture
) -> None:
    xml = text_xml("evil", "帮助", "bad-1", rig.now)
    url = rig.server.make_url("/wecom/callback")
    cb = rig.client.callback(xml, rig.now)
    params, body = cb.params, cb.body
    if case == "wrong_signature":
        params = params | {"msg_signature": "f" * 40}
    elif case == "stale_timestamp":
        cb = rig.client.callback(xml, rig.now - 3600)
        params, body = cb.params, cb.body
    elif case == "bad_padding":
        cb = rig.client.callback(xml, rig.now, bad_pad=True)
        params, body = cb.params, cb.body
    elif case == "wrong_receive_id":
        cb = rig.client.callback(xml, rig.now, receive_id="ww-someone-else")
        params, body = cb.params, cb.body
    elif case == "malformed_inner_xml":
        cb = rig.client.callback("<xml><MsgType>text</MsgType", rig.now)
        params, body = cb.params, cb.body
    elif case == "malformed_outer_xml":
        body = b"<xml><Encrypt>abc</xml>"
    elif case == "entity_declaration":
        evil = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><xml><Content>&a;</Content></xml>'
        cb = rig.client.callback(evil, rig.now)
        params, body = cb.params, cb.body
    elif case == "oversized_body":
        body = b"<xml><Encrypt>" + b"A" * 200_000 + b"</Encrypt></xml>"
    elif case == "oversized_chunked_body":

        async def chunks():
            for _ in range(20):
                yield b"<xml><Encrypt>" + b"A" * 10_000

        body = chunks()
    elif case == "missing_query":
        params = {}
    elif case == "not_base64":
        enc = "!!!not-base64!!!"
        ts, nonce = str(rig.now), "1"
        params = {"msg_signature": rig.client.sign(ts, nonce, enc), "timestamp": ts, "nonce": nonce}
        body = f"<xml><Encrypt>{enc}</Encrypt></xml>".encode()
    caplog.clear()
    async with rig.http.post(url, params=params, data=body) as resp:
        assert 400 <= resp.status < 500, case
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.sent == []
    rejected = [r for r in caplog.records if "wecom callback rejected" in r.getMessage()]
    assert len(rejected) == 1


async def test_many_concurrent_sends_fetch_the_token_once(rig: WeComRig) -> None:
    sender = rig.app[appmod.SENDERS]["wecom"]
    results = await asyncio.gather(
        *(sender.send(f"user{i}", Reply(f"通知 {i}").to_dict()) for i in range(50))
    )
    assert all(r.ok for r in results)
    assert rig.api.token_requests == 1
    assert len(rig.api.sent) == 50


async def test_token_is_fetched_again_when_its_lifetime_is_over(rig: WeComRig) -> None:
    rig.api.expires_in = 0  # every token handed out is already past its lifetime
    sender = rig.app[appmod.SENDERS]["wecom"]
    assert (await sender.send("u1", Reply("一").to_dict())).ok
    assert (await sender.send("u1", Reply("二").to_dict())).ok
    assert rig.api.token_requests == 2


async def test_token_is_cached_while_valid(rig: WeComRig) -> None:
    sender = rig.app[appmod.SENDERS]["wecom"]
    for i in range(3):
        assert (await sender.send("u1", Reply(str(i)).to_dict())).ok
    assert rig.api.token_requests == 1


async def test_expired_token_is_refreshed_once_and_the_send_retried(rig: WeComRig) -> None:
    sender = rig.app[appmod.SENDERS]["wecom"]
    assert (await sender.send("u1", Reply("一").to_dict())).ok
    rig.api.expire_tokens()
    results = await asyncio.gather(*(sender.send("u1", Reply("二").to_dict()) for _ in range(10)))
    assert all(r.ok for r in results)
    assert rig.api.token_requests == 2
    assert rig.api.texts_to("u1") == ["一"] + ["二"] * 10


async def test_api_limit_asks_outbox_to_back_off(rig: WeComRig) -> None:
    rig.api.rate_limited = 1
    result = await rig.app[appmod.SENDERS]["wecom"].send("u1", Reply("x").to_dict())
    assert not result.ok and not result.permanent and result.retry_after
    assert rig.api.sent == []


async def test_invalid_user_is_permanent_failure(rig: WeComRig) -> None:
    rig.api.invalid_users.add("gone")
    result = await rig.app[appmod.SENDERS]["wecom"].send("gone", Reply("x").to_dict())
    assert result.permanent and not result.ok


async def test_image_reply_is_uploaded_then_sent(rig: WeComRig) -> None:
    media_dir = Path(rig.app[appmod.RULES].media_dir)
    (media_dir / "ab").mkdir(parents=True)
    (media_dir / "ab" / "chart.jpg").write_bytes(jpeg_bytes("blue"))
    result = await rig.app[appmod.SENDERS]["wecom"].send(
        "u1", Reply("本月走访图", image="ab/chart.jpg").to_dict()
    )
    assert result.ok
    image_msg, text_msg = rig.api.sent
    assert image_msg["msgtype"] == "image"
    assert rig.api.uploads[image_msg["image"]["media_id"]] == jpeg_bytes("blue")
    assert text_msg["text"]["content"] == "本月走访图"


async def test_reply_with_number_presses_the_button_of_the_last_menu(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.refuse_cards = 40008  # no template cards here: buttons are the numbered menu
    sender = rig.app[appmod.SENDERS]["wecom"]
    menu = Reply(
        "新任务：核查危房", (Button("确认收到", "task:ack:7"), Button("稍后", "task:later:7"))
    )
    assert (await sender.send("wang", menu.to_dict())).ok
    assert rig.api.texts_to("wang")[0].splitlines()[1:3] == ["1. 确认收到", "2. 稍后"]
    await rig.post(text_xml("wang", "２", "n-1", rig.now))
    await drain(rig.app)
    # a message without buttons clears the menu: "1" is plain text again
    await rig.post(text_xml("wang", "1", "n-2", rig.now))
    await drain(rig.app)
    rows = await rig.inbox()
    assert [(r.payload["kind"], r.payload["payload"]) for r in rows] == [
        ("button", "task:later:7"),
        ("text", ""),
    ]


async def test_reply_refused_by_api_limit_goes_to_outbox_and_is_delivered_later(
    rig: WeComRig, clock
) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    rig.api.rate_limited = 1
    await rig.post(text_xml("wang", "帮助", "h-1", rig.now))
    await drain(rig.app)
    assert rig.api.sent == []
    async with sm() as s:
        [row] = (await s.scalars(sa.select(OutboxMessage))).all()
    assert row.idempotency_key == "reply:wecom:h-1:0" and row.channel == "wecom"
    clock.advance(timedelta(minutes=2))
    delivery = Delivery(sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS])
    assert await delivery.run_once() == 1
    [text] = rig.api.texts_to("wang")
    assert "书记0" in text


async def test_channel_is_off_without_corp_id(engine, database_url, tmp_path, clock) -> None:
    server = await start_app(make_config(database_url, tmp_path), clock)
    try:
        assert "wecom" not in server.app[appmod.SENDERS]
        assert CHANNEL_KEY not in server.app
    finally:
        await server.close()


async def test_replies_over_the_per_member_limit_wait_in_the_outbox(rig: WeComRig, clock) -> None:
    """WeCom drops messages beyond 30 a minute to one member without an error: replies count
    against that limit too, and the 31st in a minute waits in the outbox instead of being
    sent into the void."""
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "wang", clock.now())
    for i in range(31):
        assert (await rig.post(text_xml("wang", "我的信息", f"lim-{i}", rig.now))).status == 200
        await drain(rig.app)
    assert len(rig.api.texts_to("wang")) == 30
    async with sm() as s:
        # Every reply is an outbox row (the fast path marks the sent ones sent).
        [row] = (
            await s.scalars(sa.select(OutboxMessage).where(OutboxMessage.status != "sent"))
        ).all()
    assert row.idempotency_key == "reply:wecom:lim-30:0" and row.status == "pending"
    assert row.not_before == clock.now() + timedelta(minutes=1)
    clock.advance(timedelta(minutes=1, seconds=1))
    delivery = Delivery(
        sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS], gates=rig.app[appmod.GATES]
    )
    assert await delivery.run_once() == 1
    assert len(rig.api.texts_to("wang")) == 31


async def test_reply_to_a_user_wecom_calls_invalid_marks_the_identity(rig: WeComRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "wecom", "left", clock.now())
    rig.api.invalid_users.add("left")
    await rig.post(text_xml("left", "我的信息", "inv-1", rig.now))
    await drain(rig.app)
    async with sm() as s:
        [identity] = (
            await s.scalars(
                sa.select(Identity).where(Identity.person_id == world.people["sec0"].id)
            )
        ).all()
        queued = (await s.scalars(sa.select(OutboxMessage))).all()
    # Not retried forever either: its outbox row is final.
    assert identity.status == "blocked" and [q.status for q in queued] == ["undeliverable"]
