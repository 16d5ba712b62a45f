"""Telegram channel: the real aiogram Bot against a fake Bot API on 127.0.0.1, polling and
webhook modes."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer

from bot import appkeys as appmod
from bot.channels import texts as channel_texts
from bot.channels.telegram.channel import CHANNEL_KEY
from bot.config import ConfigError
from core.messages import Button, Reply
from handlers import texts
from services import media
from storage import people
from storage.models import Assignment, InboxMessage, Photo, Problem
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world
from tests.fakes.harness import TG_TOKEN, drain, jpeg_bytes, make_config, ogg_bytes, start_app
from tests.fakes.telegram_api import FakeTelegramApi

SECRET = "hook-secret-1"


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegramApi]:
    api = FakeTelegramApi(TG_TOKEN)
    await api.start()
    yield api
    await api.close()


@pytest.fixture
async def polling(engine, database_url, tmp_path, clock, fake) -> AsyncIterator[TestServer]:
    base = str(fake.server.make_url("")).rstrip("/")
    server = await start_app(make_config(database_url, tmp_path, telegram_base=base), clock)
    yield server
    await server.close()


@pytest.fixture
async def webhook(engine, database_url, tmp_path, clock, fake) -> AsyncIterator[TestServer]:
    base = str(fake.server.make_url("")).rstrip("/")
    config = make_config(
        database_url, tmp_path, telegram_base=base, telegram_mode="webhook", webhook_secret=SECRET
    )
    server = await start_app(config, clock)
    yield server
    await server.close()


async def inbox(app) -> list[InboxMessage]:
    async with app[appmod.SESSIONMAKER]() as s:
        return list(await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


async def test_polling_bind_by_invite_code(polling: TestServer, fake: FakeTelegramApi, clock):
    sm = polling.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s,
            role="secretary",
            region_id=world.villages[0].id,
            now=clock.now(),
            person_id=world.people["sec0"].id,
        )
    assert fake.calls_of("deleteWebhook")  # polling mode clears a leftover webhook
    await fake.push(fake.message_update(777, text=f"/start {invite.code}"))
    await fake.wait_for(lambda: bool(fake.texts_to(777)))
    assert "书记0" in fake.texts_to(777)[0]
    async with sm() as s:
        person = await people.by_identity(s, "telegram", "777")
    assert person is not None and person.id == world.people["sec0"].id


async def test_polling_photo_largest_size_is_downloaded_and_location_arrives(
    polling: TestServer, fake: FakeTelegramApi, clock
):
    sm = polling.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "telegram", "778", clock.now())
    image = jpeg_bytes("green")
    await fake.push(fake.message_update(778, **fake.photo_content(image)))
    await fake.push(fake.message_update(778, location={"latitude": 30.5, "longitude": 114.25}))
    await fake.wait_for(lambda: len(fake.texts_to(778)) == 2)
    photo, location = await inbox(polling.app)
    assert photo.payload["kind"] == "photo"
    stored = Path(polling.app[appmod.RULES].media_dir) / photo.payload["photo"]["path"]
    assert stored.read_bytes() == image
    assert (location.payload["kind"], location.payload["lat"]) == ("location", 30.5)
    assert all(r.handled_at is not None and r.error is None for r in (photo, location))


async def test_image_sent_as_file_is_a_photo_and_a_sticker_gets_a_hint(
    polling: TestServer, fake: FakeTelegramApi
):
    image = jpeg_bytes("yellow")
    fake.files["doc1"] = image
    document = {"file_id": "doc1", "file_unique_id": "doc1", "mime_type": "image/jpeg"}
    await fake.push(fake.message_update(782, document=document | {"file_size": len(image)}))
    sticker = {
        "file_id": "st1",
        "file_unique_id": "st1",
        "type": "regular",
        "width": 512,
        "height": 512,
        "is_animated": False,
        "is_video": False,
    }
    await fake.push(fake.message_update(782, sticker=sticker))
    await fake.wait_for(lambda: len(fake.texts_to(782)) == 2)
    [row] = await inbox(polling.app)
    assert row.payload["kind"] == "photo" and row.payload["photo"]["size"] == len(image)
    assert fake.texts_to(782)[1] == channel_texts.UNSUPPORTED


async def _patient(fake: FakeTelegramApi, condition, rounds: int = 6) -> None:
    """wait_for, several rounds: the first message waits for the FAQ index the app builds at
    start, which takes a while on a busy machine."""
    for _ in range(rounds - 1):
        try:
            return await fake.wait_for(condition)
        except TimeoutError:
            continue
    await fake.wait_for(condition)


async def test_voice_attaches_to_the_open_submission_but_is_not_its_photo(
    polling: TestServer, fake: FakeTelegramApi, clock
):
    sm = polling.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["county0"], "test", "county0", clock.now())
    await bind(sm, world.people["sec0"], "telegram", "901", clock.now())

    async def say(chat: int, **content) -> str:
        before = len(fake.texts_to(chat))
        await fake.push(fake.message_update(chat, **content))
        await _patient(fake, lambda: len(fake.texts_to(chat)) > before)
        return "\n".join(fake.texts_to(chat)[before:])

    task = "发任务 张贴政策明白纸 / 截止 3天内 / 范围 石门村 / 需要照片"
    staff = ChatDriver(sm, clock, polling.app[appmod.RULES])
    assert "给 1 个村" in await staff.dispatch("county0", task)
    assert "完成情况" in await say(901, text="提交 1")
    voice = ogg_bytes()
    got = await say(901, **fake.voice_content(voice))
    assert "已收到语音" in got and "附到这次提交" in got
    assert "请先发一张照片" in await say(901, text="好了")  # a voice note is not the photo asked
    await say(901, **fake.photo_content(jpeg_bytes("green")))
    assert "等待审核" in await say(901, text="好了")
    async with sm() as s:
        aid = await s.scalar(sa.select(Assignment.id))
        [row] = list(await s.scalars(sa.select(Photo).where(Photo.kind == "voice")))
    assert row.assignment_id == aid and row.mime == "audio/ogg"
    assert (Path(polling.app[appmod.RULES].media_dir) / row.path).read_bytes() == voice


async def test_voice_during_rectification_goes_with_the_problem_and_the_photo_closes_it(
    polling: TestServer, fake: FakeTelegramApi, clock
):
    """整改完成 over Telegram: the voice note is downloaded, stored and linked to the problem,
    the reply still asks for the photo, and the photo hands the fix in."""
    sm = polling.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    async with sm() as s, s.begin():
        await add_household(s, world.villages[0].id, "HH0001", "王三女", "监测户", clock.now())
    await bind(sm, world.people["sec0"], "test", "sec0", clock.now())
    await bind(sm, world.people["sec0"], "telegram", "903", clock.now())
    found = ChatDriver(sm, clock, polling.app[appmod.RULES])
    await found.send("sec0", "走访 王三女 屋顶漏雨")
    await found.press("sec0", "visit:confirm")
    async with sm() as s:
        problem = (await s.scalars(sa.select(Problem))).one()

    async def say(**content) -> str:
        before = len(fake.texts_to(903))
        await fake.push(fake.message_update(903, **content))
        await _patient(fake, lambda: len(fake.texts_to(903)) > before)
        return "\n".join(fake.texts_to(903)[before:])

    assert "整改后的照片" in await say(text=f"整改完成 {problem.number}")
    voice = ogg_bytes(b"r")
    got = await say(**fake.voice_content(voice))
    assert f"已收到语音，已附到问题 {problem.number}" in got and "请再发送整改后的照片" in got
    async with sm() as s:
        assert await s.scalar(sa.select(Problem.status)) == "open"
    assert "等待乡镇或县里复核" in await say(**fake.photo_content(jpeg_bytes("green")))
    async with sm() as s:
        [row] = list(await s.scalars(sa.select(Photo).where(Photo.kind == "voice")))
        assert await s.scalar(sa.select(Problem.status)) == "review"
    assert (row.problem_id, row.assignment_id, row.mime) == (problem.id, None, "audio/ogg")
    assert (Path(polling.app[appmod.RULES].media_dir) / row.path).read_bytes() == voice


async def test_voice_over_the_size_limit_is_refused_before_download(
    polling: TestServer, fake: FakeTelegramApi, clock
):
    sm = polling.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    await bind(sm, world.people["sec0"], "telegram", "902", clock.now())
    content = fake.voice_content(ogg_bytes(), size=media.MAX_VOICE_BYTES + 1)
    await fake.push(fake.message_update(902, **content))
    await _patient(fake, lambda: bool(fake.texts_to(902)))
    assert fake.texts_to(902) == [media.VOICE_TOO_BIG.format(mb=5)]
    assert await inbox(polling.app) == []
    assert not fake.calls_of("getFile")


async def test_callback_query_is_a_button_press_and_is_answered(
    polling: TestServer, fake: FakeTelegramApi, clock
):
    await fake.push(fake.callback_update(779, "task:ack:5"))
    await fake.wait_for(lambda: bool(fake.texts_to(779)))
    [row] = await inbox(polling.app)
    assert (row.payload["kind"], row.payload["payload"]) == ("button", "task:ack:5")
    assert len(fake.calls_of("answerCallbackQuery")) == 1


async def test_group_chat_messages_are_ignored(polling: TestServer, fake: FakeTelegramApi):
    await fake.push(fake.message_update(-100500, chat_type="group", text="帮助"))
    await fake.push(fake.message_update(781, text="帮助"))
    await fake.wait_for(lambda: bool(fake.texts_to(781)))
    assert [r.sender_id for r in await inbox(polling.app)] == ["781"]
    assert fake.texts_to(-100500) == []


async def test_sender_renders_inline_keyboard_and_photo(polling: TestServer, fake, tmp_path):
    sender = polling.app[appmod.SENDERS]["telegram"]
    reply = Reply("新任务：核查危房", (Button("确认收到", "task:ack:7"),))
    assert (await sender.send("900", reply.to_dict())).ok
    media_dir = Path(polling.app[appmod.RULES].media_dir)
    (media_dir / "cd").mkdir(parents=True)
    (media_dir / "cd" / "p.jpg").write_bytes(jpeg_bytes("blue"))
    assert (await sender.send("900", Reply("图", image="cd/p.jpg").to_dict())).ok
    message, photo = fake.sent
    assert message["reply_markup"]["inline_keyboard"] == [
        [{"text": "确认收到", "callback_data": "task:ack:7"}]
    ]
    assert photo["caption"] == "图" and fake.files[photo_file(fake)] == jpeg_bytes("blue")


def photo_file(fake: FakeTelegramApi) -> str:
    return [fid for fid in fake.files if fid.startswith("p")][-1]


async def test_429_gives_retry_after_and_403_is_permanent(polling: TestServer, fake):
    sender = polling.app[appmod.SENDERS]["telegram"]
    fake.fail["sendMessage"] = (429, 17)
    limited = await sender.send("901", Reply("x").to_dict())
    assert not limited.ok and limited.retry_after == 17 and not limited.permanent
    fake.fail["sendMessage"] = (403, 0)
    blocked = await sender.send("901", Reply("x").to_dict())
    assert blocked.permanent and not blocked.ok
    assert fake.sent == []


async def test_webhook_mode_sets_webhook_and_checks_the_secret(
    webhook: TestServer, fake: FakeTelegramApi
):
    assert fake.webhook is not None
    assert fake.webhook["url"].endswith("/telegram/webhook")
    assert fake.webhook["secret_token"] == SECRET
    update = fake.message_update(780, text="帮助")
    url = webhook.make_url("/telegram/webhook")
    async with aiohttp.ClientSession() as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": "wrong"}
        async with http.post(url, data=json.dumps(update), headers=headers) as resp:
            assert resp.status == 401
        async with http.post(
            url, data="{not json", headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}
        ) as resp:
            assert resp.status == 400
        assert await inbox(webhook.app) == []
        headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
        async with http.post(url, data=json.dumps(update), headers=headers) as resp:
            assert resp.status == 200
        # The 200 comes after the update is in the inbox and answered: a process that stops
        # before answering leaves Telegram to send the update again, nothing is lost.
        assert len(await inbox(webhook.app)) == 1
        assert fake.texts_to(780) == [texts.UNBOUND_HELP]
        async with http.post(url, data=json.dumps(update), headers=headers) as resp:
            assert resp.status == 200  # Telegram re-sends an update it thinks failed
    await drain(webhook.app)
    assert len(await inbox(webhook.app)) == 1
    assert fake.texts_to(780) == [texts.UNBOUND_HELP]


async def test_channel_is_off_without_token(engine, database_url, tmp_path, clock):
    server = await start_app(make_config(database_url, tmp_path), clock)
    try:
        assert "telegram" not in server.app[appmod.SENDERS]
    finally:
        await server.close()


async def test_polling_stops_cleanly_with_the_app(engine, database_url, tmp_path, clock, fake):
    base = str(fake.server.make_url("")).rstrip("/")
    server = await start_app(make_config(database_url, tmp_path, telegram_base=base), clock)
    channel = server.app[CHANNEL_KEY]
    await fake.push(fake.message_update(790, text="帮助"))
    await fake.wait_for(lambda: bool(fake.texts_to(790)))
    await server.close()
    assert channel._polling is not None and channel._polling.done()
    assert channel._active == set()


async def test_webhook_mode_without_secret_refuses_to_start(engine, database_url, tmp_path, clock):
    config = make_config(
        database_url, tmp_path, telegram_base="http://127.0.0.1:9", telegram_mode="webhook"
    )
    with pytest.raises(ConfigError, match="CUNBOT_TELEGRAM_WEBHOOK_SECRET"):
        await start_app(config, clock)
