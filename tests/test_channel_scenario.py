"""The same scenario on every channel: ONE test body, run over each transport end to end.

    bind with an invite code -> 帮助 -> a visit's photo and location reach the handlers
    -> a task pushed through the outbox arrives with its button -> pressing it reaches the router

Each channel is driven over its real transport (tests/fakes/drivers.py,
tests/fakes/webchat_driver.py). When the visit and task features land, steps 2 and 3 become
"走访 <户主>" + photo + location -> a Visit row, and a task sent by county staff -> 收到 ->
the assignment acked; the drivers need no change for that.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot import app as appmod
from handlers.messages import Button, Reply
from storage import outbox, people
from tasks.delivery import Delivery
from tests.factories import make_world
from tests.fakes.drivers import Driver, TelegramDriver, WeComDriver
from tests.fakes.harness import AES_KEY, CORP_ID, SECRET, TOKEN, jpeg_bytes, make_config, start_app
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.webchat_driver import webchat_driver
from tests.fakes.wecom_api import FakeWeComApi
from tests.fakes.wecom_client import WeComClient

HOOK_SECRET = "scenario-secret"
CHANNELS = ["webchat", "wecom", "telegram"]


@pytest.fixture(params=CHANNELS)
async def driver(request, engine, database_url, tmp_path: Path, clock) -> AsyncIterator[Driver]:
    name = request.param
    if name == "webchat":
        async with webchat_driver(database_url, tmp_path, clock) as d:
            yield d
        return
    wecom_api = FakeWeComApi(CORP_ID, SECRET)
    tg_api = FakeTelegramApi("123456:TEST-token")
    config = make_config(
        database_url,
        tmp_path,
        wecom_base=await wecom_api.start(),
        telegram_base=await tg_api.start(),
        telegram_mode="webhook",
        webhook_secret=HOOK_SECRET,
    )
    server = await start_app(config, clock)
    try:
        if name == "wecom":
            yield WeComDriver(
                server, wecom_api, WeComClient(TOKEN, AES_KEY, CORP_ID), clock, "zhang.san"
            )
        else:
            yield TelegramDriver(server, tg_api, HOOK_SECRET, 4242)
    finally:
        await server.close()
        await wecom_api.close()
        await tg_api.close()


async def test_same_scenario_on_every_channel(driver: Driver, clock) -> None:
    sm = driver.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    secretary = world.people["sec0"]

    # 1. bind with an invite code
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s,
            role=secretary.role,
            region_id=secretary.region_id,
            now=clock.now(),
            person_id=secretary.id,
        )
    [bound] = await driver.text(f"绑定 {invite.code}")
    assert "书记0" in bound and "石门村" in bound
    assert "我的信息" in "\n".join(await driver.text("帮助"))

    # 2. report a visit: a photo and a location reach the handlers
    image = jpeg_bytes("orange")
    assert await driver.photo(image)
    assert await driver.location(30.5, 114.25, "石门村委会")
    rows = [r for r in await driver.inbox() if r.payload["kind"] in ("photo", "location")]
    photo, location = rows
    assert photo.payload["photo"]["sha256"] == hashlib.sha256(image).hexdigest()
    assert (location.payload["lat"], location.payload["lon"]) == (30.5, 114.25)
    assert location.payload["label"] == "石门村委会"
    assert all(r.handled_at is not None and r.error is None for r in rows)
    assert all(r.sender_id == driver.external_id for r in rows)

    # 3. receive a task (pushed through the outbox) and acknowledge it with its button
    push = Reply("新任务：核查危房改造进度", (Button("收到", "task:ack:1"),))
    async with sm() as s, s.begin():
        await outbox.enqueue(
            s,
            recipient_id=secretary.id,
            body=push.to_dict(),
            key="scenario:task:1",
            now=clock.now(),
        )
    delivery = Delivery(sm, clock, driver.app[appmod.RULES], driver.app[appmod.SENDERS])
    await delivery.run_once()  # a running worker (web chat) may have sent it already
    text, labels = await driver.last_push()
    assert "核查危房" in text and "收到" in labels
    assert await driver.press("收到")
    last = (await driver.inbox())[-1]
    assert (last.payload["kind"], last.payload["payload"]) == ("button", "task:ack:1")
    assert last.handled_at is not None and last.error is None
