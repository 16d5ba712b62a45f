"""Webhooks answer 200 only once the message is stored: with the database away, the Telegram
webhook and the WeCom callback answer 503, so the sender's server sends the message again,
and the resend is handled once. Text that cannot be stored as it is (NUL, lone surrogates)
is cleaned on the way into the inbox instead of failing."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest
import sqlalchemy as sa
from aiohttp.test_utils import TestServer
from sqlalchemy.ext.asyncio import create_async_engine

from bot import appkeys as appmod
from bot.inbound.recorder import storable
from handlers import texts
from storage.models import InboxMessage
from tests.fakes.harness import (
    AES_KEY,
    CORP_ID,
    SECRET,
    TG_TOKEN,
    TOKEN,
    drain,
    make_config,
    start_app,
)
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.wecom_api import FakeWeComApi
from tests.fakes.wecom_client import WeComClient, text_xml

HOOK_SECRET = "hook-secret-2"


@contextmanager
def database_away(app, database_url: str, tmp_path: Path) -> Iterator[None]:
    """Every session of the app goes to a database that cannot be reached (same backend):
    what a restart or network loss of the database server looks like to the service."""
    if database_url.startswith("sqlite"):
        blocker = tmp_path / "not-a-dir"
        blocker.write_text("")
        broken = create_async_engine(f"sqlite+aiosqlite:///{blocker / 'db.sqlite3'}")
    else:
        broken = create_async_engine("postgresql+asyncpg://postgres@127.0.0.1:9/test")
    sm = app[appmod.SESSIONMAKER]
    working = sm.kw["bind"]
    sm.configure(bind=broken)
    try:
        yield
    finally:
        sm.configure(bind=working)


async def inbox(app) -> list[InboxMessage]:
    async with app[appmod.SESSIONMAKER]() as s:
        return list(await s.scalars(sa.select(InboxMessage).order_by(InboxMessage.id)))


@pytest.fixture
async def telegram(engine, database_url, tmp_path, clock) -> AsyncIterator[tuple]:
    fake = FakeTelegramApi(TG_TOKEN)
    base = await fake.start()
    config = make_config(
        database_url,
        tmp_path,
        telegram_base=base,
        telegram_mode="webhook",
        webhook_secret=HOOK_SECRET,
    )
    server = await start_app(config, clock)
    yield server, fake
    await server.close()
    await fake.close()


async def post_update(server: TestServer, update: dict) -> int:
    async with aiohttp.ClientSession() as http:
        async with http.post(
            server.make_url("/telegram/webhook"),
            data=json.dumps(update),
            headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET},
        ) as resp:
            await resp.read()
            return resp.status


async def test_telegram_webhook_is_503_while_the_database_is_away_and_the_resend_is_handled_once(
    telegram, database_url, tmp_path
) -> None:
    server, fake = telegram
    update = fake.message_update(781, text="帮助")
    with database_away(server.app, database_url, tmp_path):
        assert await post_update(server, update) == 503
        assert await post_update(server, update) == 503  # Telegram retries; still away
    assert fake.texts_to(781) == []
    assert await post_update(server, update) == 200  # the database is back
    assert await post_update(server, update) == 200  # a late duplicate: a no-op
    await drain(server.app)
    assert len(await inbox(server.app)) == 1
    assert fake.texts_to(781) == [texts.UNBOUND_HELP]


async def test_text_with_nul_is_stored_cleaned_and_answered(telegram) -> None:
    server, fake = telegram
    # JSON carries a NUL (as an escape), which PostgreSQL cannot store in text or JSON.
    raw = json.dumps(fake.message_update(782, text="PLACEHOLDER"))
    raw = raw.replace("PLACEHOLDER", "\\u5e2e\\u0000\\u52a9")
    async with aiohttp.ClientSession() as http:
        async with http.post(
            server.make_url("/telegram/webhook"),
            data=raw,
            headers={"X-Telegram-Bot-Api-Secret-Token": HOOK_SECRET},
        ) as resp:
            assert resp.status == 200, await resp.text()
    await drain(server.app)
    [row] = await inbox(server.app)
    assert row.payload["text"] == "帮助"
    assert fake.texts_to(782) == [texts.UNBOUND_HELP]


def test_lone_surrogates_and_nul_become_storable_and_clean_text_is_untouched() -> None:
    assert storable("a\ud800b\x00c") == "a\ufffdbc"
    assert storable("\ud83d\ude00") == "\U0001f600"  # a pair written as two code points
    text = "村务 ok"
    assert storable(text) is text


async def test_wecom_callback_is_503_while_the_database_is_away_and_the_retry_is_handled_once(
    engine, database_url, tmp_path, clock
) -> None:
    api = FakeWeComApi(CORP_ID, SECRET)
    base = await api.start()
    server = await start_app(make_config(database_url, tmp_path, wecom_base=base), clock)
    client = WeComClient(TOKEN, AES_KEY, CORP_ID)
    now = int(clock.now().timestamp())

    async def post() -> int:
        cb = client.callback(text_xml("zhao", "帮助", "out-1", now), now)
        async with aiohttp.ClientSession() as http:
            async with http.post(
                server.make_url("/wecom/callback"), params=cb.params, data=cb.body
            ) as resp:
                await resp.read()
                return resp.status

    try:
        with database_away(server.app, database_url, tmp_path):
            assert await post() == 503
        assert await post() == 200
        assert await post() == 200  # WeCom's own retry of a message it got 200 for
        await drain(server.app)
        assert len(await inbox(server.app)) == 1
        assert len(api.texts_to("zhao")) == 1
    finally:
        await server.close()
        await api.close()


@pytest.fixture
async def telegram_polling(engine, database_url, tmp_path, clock) -> AsyncIterator[tuple]:
    fake = FakeTelegramApi(TG_TOKEN)
    base = await fake.start()
    server = await start_app(make_config(database_url, tmp_path, telegram_base=base), clock)
    yield server, fake
    await server.close()
    await fake.close()


async def test_polling_keeps_an_update_it_could_not_store_until_the_database_is_back(
    telegram_polling, database_url, tmp_path
):
    # getUpdates has moved past the update by the time it fails to store: Telegram will not
    # send it again, so the channel must keep it and store it once the database answers.
    server, fake = telegram_polling
    with database_away(server.app, database_url, tmp_path):
        update = fake.message_update(4242, text="帮助")
        await fake.push(update)
        async with asyncio.timeout(10):  # the bot asked for updates past it: Telegram is done
            while update in fake.updates:  # noqa: ASYNC110 (the fake forgets confirmed updates, as Telegram does; nothing signals it)
                await asyncio.sleep(0.05)
        await asyncio.sleep(1.2)  # at least two failed tries while the database is away
        assert fake.texts_to(4242) == []
    await fake.wait_for(lambda: bool(fake.texts_to(4242)))
    rows = await inbox(server.app)
    assert len(rows) == 1 and rows[0].payload["text"] == "帮助"
    assert len(fake.texts_to(4242)) == 1
