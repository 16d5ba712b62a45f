"""The same scenario on every channel: ONE test body, run over each transport end to end.

    bind with an invite code -> report a visit (one message + 确认), add a photo and the
    location -> county staff send a task -> it arrives with its buttons -> 收到 acknowledges it
    -> a township officer sends a task -> the secretary submits it with a photo under the number
    the push showed -> the township approves it with that same number -> the approval arrives

Each channel is driven over its real transport (tests/fakes/drivers.py,
tests/fakes/webchat_driver.py); buttons are pressed the way each channel shows them (WeCom: a
template card's button, its card then updated with the tap's response code; DingTalk: a
numbered menu answered with the number, and its robot sends no location so that one step is
left out there; Telegram: an inline keyboard; web chat: a button frame).
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import appkeys as appmod
from handlers import visit_texts
from storage import people
from storage.models import Assignment, Photo, Task, Visit
from tasks.delivery import Delivery
from tests.chat import ChatDriver
from tests.factories import add_household, bind, make_world
from tests.fakes.dingtalk_api import FakeDingTalkApi
from tests.fakes.dingtalk_client import DingTalkClient
from tests.fakes.drivers import DingTalkDriver, Driver, TelegramDriver, WeComDriver
from tests.fakes.harness import (
    AES_KEY,
    CORP_ID,
    DT_APP_KEY,
    DT_APP_SECRET,
    DT_ROBOT,
    SECRET,
    TOKEN,
    jpeg_bytes,
    make_config,
    start_app,
)
from tests.fakes.telegram_api import FakeTelegramApi
from tests.fakes.webchat_driver import webchat_driver
from tests.fakes.wecom_api import FakeWeComApi
from tests.fakes.wecom_client import WeComClient

HOOK_SECRET = "scenario-secret"
CHANNELS = ["webchat", "wecom", "telegram", "dingtalk"]


@pytest.fixture(params=CHANNELS)
async def driver(request, engine, database_url, tmp_path: Path, clock) -> AsyncIterator[Driver]:
    name = request.param
    if name == "webchat":
        async with webchat_driver(database_url, tmp_path, clock) as d:
            yield d
        return
    wecom_api = FakeWeComApi(CORP_ID, SECRET)
    tg_api = FakeTelegramApi("123456:TEST-token")
    dt_api = FakeDingTalkApi(DT_APP_KEY, DT_APP_SECRET, DT_ROBOT)
    config = make_config(
        database_url,
        tmp_path,
        wecom_base=await wecom_api.start(),
        telegram_base=await tg_api.start(),
        telegram_mode="webhook",
        webhook_secret=HOOK_SECRET,
        dingtalk_base=await dt_api.start(),
    )
    server = await start_app(config, clock)
    try:
        if name == "wecom":
            yield WeComDriver(
                server, wecom_api, WeComClient(TOKEN, AES_KEY, CORP_ID), clock, "zhang.san"
            )
        elif name == "dingtalk":
            yield DingTalkDriver(
                server, dt_api, DingTalkClient(DT_APP_SECRET, DT_ROBOT), clock, "zhangsan01"
            )
        else:
            yield TelegramDriver(server, tg_api, HOOK_SECRET, 4242)
    finally:
        await server.close()
        await wecom_api.close()
        await tg_api.close()
        await dt_api.close()


async def test_same_scenario_on_every_channel(driver: Driver, clock) -> None:
    sm = driver.app[appmod.SESSIONMAKER]
    world = await make_world(sm, clock.now())
    secretary, staff = world.people["sec0"], world.people["county0"]
    async with sm() as s, s.begin():
        household = await add_household(
            s, world.villages[0].id, "HH0001", "王三女", "监测户", clock.now()
        )
        invite = await people.create_invite(
            s,
            role=secretary.role,
            region_id=secretary.region_id,
            now=clock.now(),
            person_id=secretary.id,
        )

    # 1. bind with an invite code
    [bound] = await driver.text(f"绑定 {invite.code}")
    assert "书记0" in bound and "石门村" in bound

    # 2. report a visit, then add a photo and the location to it
    summary = await driver.text("走访 王三女 饮水正常 孩子都在上学 医保已交 住房安全 收入稳定")
    assert "王三女" in summary[-1]
    saved = await driver.press(visit_texts.BTN_CONFIRM)
    assert "已保存 王三女 的走访" in saved[0]
    image = jpeg_bytes("orange")
    # the visit is saved, so the photo is not guessed: the bot asks which household
    assert "哪一户" in (await driver.photo(image))[0]
    assert "照片已附到 王三女" in (await driver.press("王三女"))[0]
    if driver.sends_location:
        assert "位置已记到 王三女" in (await driver.location(30.5, 114.25, "石门村委会"))[0]
    async with sm() as s:
        visit = await s.scalar(sa.select(Visit).where(Visit.household_id == household.id))
        photos = (await s.scalars(sa.select(Photo).where(Photo.visit_id == visit.id))).all()
    assert visit.visitor_id == secretary.id
    if driver.sends_location:
        assert (visit.lat, visit.lon) == (30.5, 114.25)
    assert [p.sha256 for p in photos] == [hashlib.sha256(image).hexdigest()]

    # 3. county staff send a task (from another chat); it arrives here and is acknowledged
    staff_chat = ChatDriver(
        sm, clock, driver.app[appmod.RULES], services=driver.app[appmod.SERVICES]
    )
    await bind(sm, staff, "test", "staff-1", clock.now())
    sent = await staff_chat.dispatch("staff-1", "发任务 张贴政策明白纸 / 截止 本周五 / 范围 石门村")
    assert "给 1 个村" in sent
    delivery = Delivery(sm, clock, driver.app[appmod.RULES], driver.app[appmod.SENDERS])
    await delivery.run_once()  # a running worker (web chat) may have sent it already
    text, labels = await driver.last_push()
    assert "张贴政策明白纸" in text and "收到" in labels
    acked = await driver.press("收到")
    assert "已确认收到「张贴政策明白纸」" in acked[0]
    async with sm() as s:
        assignment = await s.scalar(
            sa.select(Assignment).where(Assignment.assignee_id == secretary.id)
        )
    assert assignment.status == "acked"

    # 4. a TOWNSHIP officer dispatches a task; the secretary hands it in with a photo under the
    #    number the push showed, and the township approves it with that same number
    await bind(sm, world.people["town0"], "test", "town-1", clock.now())
    sent = await staff_chat.dispatch(
        "town-1", "发任务 上报防汛物资 / 截止 本周五 / 范围 石门村 / 需要照片"
    )
    number = int(re.search(r"（任务 (\d+)）", sent).group(1))
    assert number == 2  # the county's series: the county's own task above was 任务 1
    clock.advance(seconds=2)  # Telegram: one message a second per chat
    await delivery.run_once()
    text, labels = await driver.last_push()
    assert f"任务 {number}" in text and f"提交 {number}" in text and "收到" in labels
    assert "完成情况" in (await driver.text(f"提交 {number}"))[-1]
    evidence = jpeg_bytes("green")
    assert "1 张照片" in (await driver.photo(evidence))[-1]
    handed = (await driver.text("好了"))[-1]
    assert f"（任务 {number}）" in handed and "等待审核" in handed
    approved = await staff_chat.say("town-1", f"通过 {number}")
    assert approved == f"已通过 石门村 的「上报防汛物资」（任务 {number}）。"
    clock.advance(seconds=2)
    await delivery.run_once()
    text, _ = await driver.last_push()
    assert "审核通过" in text and f"任务 {number}" in text
    async with sm() as s:
        item = await s.scalar(
            sa.select(Assignment)
            .join(Task, Task.id == Assignment.task_id)
            .where(Task.number == number, Task.kind == "task")
        )
        attached = await s.scalar(sa.select(Photo.sha256).where(Photo.assignment_id == item.id))
    assert item.status == "approved" and attached == hashlib.sha256(evidence).hexdigest()
