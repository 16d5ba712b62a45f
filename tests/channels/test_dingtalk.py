"""DingTalk channel against a fake DingTalk API and a signing callback client (both on
127.0.0.1), through the real app, inbox, router and delivery worker."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from hypothesis import strategies as st

from bot import appkeys as appmod
from bot.channels import texts as channel_texts
from bot.channels.dingtalk import texts as dt_texts
from bot.channels.dingtalk.channel import CHANNEL_KEY
from bot.channels.dingtalk.settings import DingTalkSettings
from bot.config import ConfigError, load_config
from core.messages import Button, Reply
from handlers import texts
from services import media
from storage import outbox
from storage.models import Identity, InboxMessage, OutboxMessage, Photo
from tasks.delivery import Delivery
from tests.channels.test_fuzz import healthy, stored_text_is_clean
from tests.channels.test_webhook_outage import database_away
from tests.channels.test_wecom import invite_code
from tests.factories import bind, make_world
from tests.fakes.dingtalk_api import FakeDingTalkApi
from tests.fakes.dingtalk_client import DingTalkClient
from tests.fakes.harness import (
    DT_APP_KEY,
    DT_APP_SECRET,
    DT_ROBOT,
    drain,
    jpeg_bytes,
    make_config,
    ogg_bytes,
    start_app,
)
from tests.fuzzkit import (
    CORPUS_TEXT,
    DEEP_LIST,
    DEEP_OBJECT,
    HOSTILE_TEXT,
    JSON_ANY,
    NUMBERS,
    draw,
    dumps,
    tracebacks,
)


@dataclass
class DingTalkRig:
    server: TestServer
    api: FakeDingTalkApi
    client: DingTalkClient
    http: aiohttp.ClientSession
    clock: Any

    @property
    def app(self):
        return self.server.app

    @property
    def now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    async def post(self, body: dict[str, Any] | bytes, **header_kw: Any) -> tuple[int, Any]:
        headers = self.client.headers(header_kw.pop("timestamp", self.now_ms), **header_kw)
        data = body if isinstance(body, bytes) else None
        async with self.http.post(
            self.server.make_url("/dingtalk/callback"),
            json=None if data is not None else body,
            data=data,
            headers=headers,
        ) as resp:
            text = await resp.text()
            return resp.status, text

    async def inbox(self) -> list[InboxMessage]:
        async with self.app[appmod.SESSIONMAKER]() as s:
            return list(await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


@pytest.fixture
async def rig(engine, database_url, tmp_path: Path, clock) -> AsyncIterator[DingTalkRig]:
    api = FakeDingTalkApi(DT_APP_KEY, DT_APP_SECRET, DT_ROBOT)
    base = await api.start()
    server = await start_app(make_config(database_url, tmp_path, dingtalk_base=base), clock)
    async with aiohttp.ClientSession() as http:
        yield DingTalkRig(server, api, DingTalkClient(DT_APP_SECRET, DT_ROBOT), http, clock)
    await server.close()
    await api.close()


async def test_bind_by_invite_code_and_text_round_trip(rig: DingTalkRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    code = await invite_code(sm, clock.now(), world.people["sec0"])
    status, _ = await rig.post(rig.client.text("zhangsan", f"绑定 {code}", rig.now_ms))
    assert status == 200
    await drain(rig.app)
    [bound] = rig.api.texts_to("zhangsan")
    assert "书记0" in bound
    [sent] = rig.api.sent
    assert sent["robotCode"] == DT_ROBOT and sent["msgKey"] == "sampleText"
    status, _ = await rig.post(rig.client.text("zhangsan", "我的信息", rig.now_ms))
    await drain(rig.app)
    assert status == 200 and "书记0" in rig.api.texts_to("zhangsan")[-1]
    async with sm() as s:
        identity = await s.scalar(sa.select(Identity).where(Identity.channel == "dingtalk"))
    assert identity.external_id == "zhangsan" and identity.person_id == world.people["sec0"].id


async def test_picture_is_downloaded_and_stored_once_per_sha256(rig: DingTalkRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "dingtalk", "wang", clock.now())
    image = jpeg_bytes("blue")
    rig.api.files["code-1"] = image
    rig.api.files["code-2"] = image  # the same photo sent twice
    for code in ("code-1", "code-2"):
        status, _ = await rig.post(rig.client.picture("wang", code, rig.now_ms))
        assert status == 200
        await drain(rig.app)
    rows = await rig.inbox()
    assert [r.payload["kind"] for r in rows] == ["photo", "photo"]
    digest = hashlib.sha256(image).hexdigest()
    assert {r.payload["photo"]["sha256"] for r in rows} == {digest}
    media_dir = Path(rig.app[appmod.RULES].media_dir)
    files = await asyncio.to_thread(lambda: sorted(p.name for p in media_dir.rglob("*.jpg")))
    assert files == [f"{digest}.jpg", f"{digest}.thumb.jpg"]  # one photo (and its thumbnail)
    assert (media_dir / rows[0].payload["photo"]["path"]).read_bytes() == image
    assert rig.api.downloads == 2 and len(rig.api.texts_to("wang")) == 2


async def test_audio_is_a_voice_note_stored_once_per_sha256(rig: DingTalkRig, clock) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "dingtalk", "wang", clock.now())
    voice = ogg_bytes()
    rig.api.files["a-1"] = voice
    rig.api.files["a-2"] = voice  # the same voice note sent twice
    for code in ("a-1", "a-2"):
        status, _ = await rig.post(rig.client.audio("wang", code, rig.now_ms))
        assert status == 200
        await drain(rig.app)
    assert [r.payload["kind"] for r in await rig.inbox()] == ["voice", "voice"]
    async with sm() as s:
        [row] = list(await s.scalars(sa.select(Photo)))
    assert (row.kind, row.mime, row.sha256) == (
        "voice",
        "audio/ogg",
        hashlib.sha256(voice).hexdigest(),
    )
    # placed nowhere yet, so each time the sender is asked where it goes (as for a photo)
    assert [t[:4] for t in rig.api.texts_to("wang")] == ["收到语音", "收到语音"]


async def test_audio_that_is_too_big_or_not_audio_is_refused_in_chinese(
    rig: DingTalkRig, clock
) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "dingtalk", "wang", clock.now())
    rig.api.files["big"] = ogg_bytes() + bytes(media.MAX_VOICE_BYTES)
    rig.api.files["txt"] = "这不是语音".encode() * 20
    for code in ("big", "txt"):
        assert (await rig.post(rig.client.audio("wang", code, rig.now_ms)))[0] == 200
        await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.texts_to("wang") == [media.VOICE_TOO_BIG.format(mb=5), media.NOT_VOICE]
    async with sm() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Photo)) == 0


async def test_picture_whose_download_code_is_refused_gets_a_notice_and_is_not_stored(
    rig: DingTalkRig,
) -> None:
    status, _ = await rig.post(rig.client.picture("wang", "no-such-code", rig.now_ms))
    assert status == 200
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.texts_to("wang") == [channel_texts.PHOTO_DOWNLOAD_FAILED]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"sign": "A" * 44}, 403),
        ({"sign": ""}, 401),
        ({"timestamp": -2 * 3600 * 1000}, 403),  # two hours old
        ({"timestamp": 2 * 3600 * 1000}, 403),  # two hours ahead
    ],
)
async def test_bad_or_stale_signature_is_refused_and_nothing_is_stored(
    rig: DingTalkRig, change: dict[str, Any], expected: int
) -> None:
    rig.api.files["c"] = jpeg_bytes()
    kw = dict(change)
    if "timestamp" in kw:
        kw["timestamp"] = rig.now_ms + kw["timestamp"]
    for body in (
        rig.client.text("mallory", "帮助", rig.now_ms),
        rig.client.picture("mallory", "c", rig.now_ms),
    ):
        status, _ = await rig.post(body, **kw)
        assert status == expected
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.downloads == 0 and rig.api.send_calls == 0


async def test_signature_of_another_secret_is_refused(rig: DingTalkRig) -> None:
    forged = DingTalkClient("not-the-secret", DT_ROBOT).headers(rig.now_ms)["sign"]
    status, _ = await rig.post(rig.client.text("mallory", "帮助", rig.now_ms), sign=forged)
    assert status == 403 and await rig.inbox() == []


@pytest.mark.parametrize(
    "body",
    [
        b"not json",
        b"[1, 2]",
        {"conversationType": "1", "msgtype": "text", "text": {"content": "x"}},  # no sender
        {"conversationType": "1", "senderStaffId": "u1", "msgtype": "text", "createAt": 1},
        {"conversationType": "1", "senderStaffId": "u1", "msgId": "m<1>", "createAt": 1},
        {"conversationType": "1", "senderStaffId": "u1", "msgId": "m1", "createAt": -5},
    ],
)
async def test_malformed_callback_is_400_and_stores_nothing(rig: DingTalkRig, body) -> None:
    status, _ = await rig.post(body)
    assert status == 400 and await rig.inbox() == []


async def test_duplicate_msg_id_is_handled_once(rig: DingTalkRig) -> None:
    body = rig.client.text("lisi", "帮助", rig.now_ms, msg_id="msgDUP+1/x==")
    for _ in range(3):
        status, _ = await rig.post(body)
        assert status == 200
    await drain(rig.app)
    assert len(await rig.inbox()) == 1
    assert rig.api.texts_to("lisi") == [texts.UNBOUND_HELP]


async def test_group_message_is_answered_politely_and_not_stored(rig: DingTalkRig) -> None:
    status, answer = await rig.post(rig.client.text("lisi", "帮助", rig.now_ms, group=True))
    assert status == 200
    assert json.loads(answer) == {"msgtype": "text", "text": {"content": dt_texts.GROUP_CHAT}}
    await drain(rig.app)
    assert await rig.inbox() == [] and rig.api.send_calls == 0


async def test_unsupported_type_gets_a_hint_and_is_not_stored(rig: DingTalkRig) -> None:
    body = rig.client.message("lisi", "video", rig.now_ms, content={"downloadCode": "a"})
    assert (await rig.post(body))[0] == 200
    await drain(rig.app)
    assert await rig.inbox() == []
    assert rig.api.texts_to("lisi") == [channel_texts.UNSUPPORTED]


async def test_token_is_refreshed_once_under_concurrent_sends(rig: DingTalkRig) -> None:
    sender = rig.app[appmod.SENDERS]["dingtalk"]
    rig.api.token_delay = 0.2  # every caller arrives while the first fetch is under way
    results = await asyncio.gather(
        *(sender.send(f"user{i}", Reply(f"通知 {i}").to_dict()) for i in range(20))
    )
    assert all(r.ok for r in results) and rig.api.token_requests == 1
    rig.api.expire_tokens()  # DingTalk now refuses the cached token with 401
    results = await asyncio.gather(*(sender.send("u1", Reply("二").to_dict()) for _ in range(10)))
    assert all(r.ok for r in results)
    assert rig.api.token_requests == 2
    assert rig.api.texts_to("u1") == ["二"] * 10


async def test_refused_card_goes_out_once_as_a_numbered_menu_and_a_number_presses_one(
    rig: DingTalkRig, clock
) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "dingtalk", "wang", clock.now())
    rig.api.refuse_cards = "invalidParameter.msgKey"  # a DingTalk that takes no ActionCards
    reply = Reply("请确认", (Button("确认", "help:x"), Button("稍后", "help:y")))
    assert (await rig.app[appmod.SENDERS]["dingtalk"].send("wang", reply.to_dict())).ok
    assert rig.api.refused == ["card refused (invalidParameter.msgKey)"]
    assert rig.api.send_calls == 2 and rig.api.cards_to("wang") == []
    [menu] = rig.api.texts_to("wang")
    assert "1. 确认" in menu and "2. 稍后" in menu and channel_texts.MENU_HINT in menu
    assert (await rig.post(rig.client.text("wang", "2", rig.now_ms)))[0] == 200
    await drain(rig.app)
    [row] = await rig.inbox()
    assert row.payload["kind"] == "button" and row.payload["payload"] == "help:y"


async def test_throttled_user_is_retried_later_not_dropped(rig: DingTalkRig) -> None:
    rig.api.throttled_users.add("busy")
    result = await rig.app[appmod.SENDERS]["dingtalk"].send("busy", Reply("x").to_dict())
    assert not result.ok and not result.permanent and result.retry_after


async def test_permanent_error_is_dead_lettered_not_retried_forever(
    rig: DingTalkRig, clock
) -> None:
    sm = rig.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    person = world.people["sec0"]
    await bind(sm, person, "dingtalk", "left.org", clock.now())
    rig.api.invalid_users.add("left.org")
    async with sm() as s, s.begin():
        await outbox.enqueue(
            s,
            recipient_id=person.id,
            body=Reply("通知").to_dict(),
            key="test:push:1",
            now=clock.now(),
            channel="dingtalk",
        )
    delivery = Delivery(sm, clock, rig.app[appmod.RULES], rig.app[appmod.SENDERS])
    await delivery.run_once()
    for _ in range(3):  # later runs do not try it again
        clock.advance(timedelta(hours=1))
        await delivery.run_once()
    async with sm() as s:
        [row] = (await s.scalars(sa.select(OutboxMessage))).all()
        identity = await s.scalar(sa.select(Identity).where(Identity.channel == "dingtalk"))
    assert row.status == "undeliverable" and rig.api.send_calls == 1
    assert identity.status == "blocked"


async def test_channel_is_off_without_app_key(engine, database_url, tmp_path, clock) -> None:
    server = await start_app(make_config(database_url, tmp_path), clock)
    try:
        assert "dingtalk" not in server.app[appmod.SENDERS]
        assert CHANNEL_KEY not in server.app
    finally:
        await server.close()


async def test_callback_is_503_while_the_database_is_away_and_the_resend_is_handled_once(
    rig: DingTalkRig, database_url, tmp_path: Path
) -> None:
    body = rig.client.text("lisi", "帮助", rig.now_ms, msg_id="msgAWAY==")
    with database_away(rig.app, database_url, tmp_path):
        status, _ = await rig.post(body)
        # a bare number is looked up in the last menu first: that needs the database too
        number_status, _ = await rig.post(rig.client.text("lisi", "1", rig.now_ms))
    assert status == 503 and number_status == 503
    await drain(rig.app)
    assert rig.api.send_calls == 0
    for _ in range(2):  # DingTalk's resend, and one more
        assert (await rig.post(body))[0] == 200
    await drain(rig.app)
    assert len(await rig.inbox()) == 1
    assert rig.api.texts_to("lisi") == [texts.UNBOUND_HELP]


def test_settings_come_from_the_environment_and_need_the_secret(monkeypatch, tmp_path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file here
    monkeypatch.setenv("CUNBOT_DINGTALK_APP_KEY", "dingkey")
    with pytest.raises(ConfigError, match="CUNBOT_DINGTALK_APP_SECRET"):
        load_config()
    monkeypatch.setenv("CUNBOT_DINGTALK_APP_SECRET", "s3cret")
    config = load_config()
    settings = config.section(DingTalkSettings)
    assert config.enabled("dingtalk") and settings.robot == "dingkey"
    assert settings.api_base == "https://api.dingtalk.com" and settings.cards
    assert "s3cret" not in repr(settings)
    monkeypatch.setenv("CUNBOT_DINGTALK_ROBOT_CODE", "dingrobot")
    monkeypatch.setenv("CUNBOT_DINGTALK_CARDS", "false")
    settings = load_config().section(DingTalkSettings)
    assert settings.robot == "dingrobot" and not settings.cards
    monkeypatch.delenv("CUNBOT_DINGTALK_APP_KEY")
    assert not load_config().enabled("dingtalk")


def hostile_messages(client: DingTalkClient, now_ms: int) -> st.SearchStrategy[str]:
    def msg(kind: Any, user: Any, msg_id: Any, created: Any, text: Any, content: Any) -> str:
        body = client.text("fz", "x", now_ms)
        body.update(msgtype=kind, msgId=msg_id, createAt=created, text={"content": text})
        body.update(senderStaffId=user, content=content)
        return dumps(body)

    return st.one_of(
        st.builds(
            msg,
            st.sampled_from(["text", "picture", "richText", "audio"]) | JSON_ANY,
            st.just("fz") | JSON_ANY,
            st.integers(1, 2**62).map(lambda n: f"m{n}") | JSON_ANY,
            st.just(now_ms) | NUMBERS | HOSTILE_TEXT,
            HOSTILE_TEXT,
            JSON_ANY | st.fixed_dictionaries({"richText": JSON_ANY}),
        ),
        JSON_ANY.map(dumps),
    )


async def test_callbacks_with_hostile_fields_never_get_5xx(rig: DingTalkRig, caplog) -> None:
    bodies = draw(hostile_messages(rig.client, rig.now_ms))
    bodies += [dumps(rig.client.text("fz", t, rig.now_ms)) for t in CORPUS_TEXT]
    bodies += [DEEP_OBJECT, DEEP_LIST, '{"createAt": 1e400}', "\x00"]
    for n, body in enumerate(bodies):
        before = len(await rig.inbox())
        status, _ = await rig.post(body.encode("utf-8", "surrogatepass"))
        assert status < 500, (status, body[:200])
        if status != 200:
            assert len(await rig.inbox()) == before, body[:200]
        if n % 20 == 0:
            await healthy(rig.http, rig.server.make_url(""))
    await drain(rig.app)
    stored_text_is_clean(await rig.inbox())
    assert tracebacks(caplog) == []
