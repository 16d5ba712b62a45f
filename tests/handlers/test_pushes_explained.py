"""Pushes explained: the sender hears when a quiet-hours push goes out, 任务 N shows the whole
item, and 死信 says in Chinese who missed which message and what to do."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from storage import outbox
from storage.models import OutboxMessage
from tests.chat import ChatDriver
from tests.factories import bind, make_world

SHANGHAI = ZoneInfo("Asia/Shanghai")


async def _setup(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "sec1", "town0", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    return world, ChatDriver(sessionmaker, clock, rules)


async def test_sender_in_quiet_hours_is_told_when_pushes_go_out(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    assert "休息时间" not in await chat.dispatch("county0", "发通知 白天的通知 / 范围 石门村")
    clock.set(datetime(2026, 11, 10, 22, 40, tzinfo=SHANGHAI))
    reply = await chat.dispatch("town0", "发任务 夜里的任务 / 截止 3天内 / 范围 石门村")
    assert "现在是休息时间，推送将在 07:30 发出。" in reply
    async with sessionmaker() as s:
        (push,) = await s.scalars(
            sa.select(OutboxMessage).where(OutboxMessage.body["text"].as_string().contains("夜里"))
        )
    assert push.not_before.astimezone(SHANGHAI).strftime("%H:%M") == "07:30"


async def test_task_number_shows_the_whole_notice(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    await chat.dispatch(
        "county0", "发通知 冬季防火 / 内容 注意用电安全，不要私拉电线 / 范围 石门村"
    )
    await chat.dispatch("county0", "发任务 张贴明白纸 / 截止 12月5日前 / 范围 石门村 / 需要照片")
    notice, task = 1, 2  # the county's numbers, in the order sent: one series for both
    listed = await chat.say("sec0", "任务")
    assert "冬季防火" in listed and "不要私拉电线" not in listed  # the list stays as it is
    shown = await chat.say("sec0", f"任务 {notice}")
    assert "通知" in shown and "冬季防火" in shown and "注意用电安全，不要私拉电线" in shown
    assert "状态：" in shown
    shown = await chat.say("sec0", f"任务 {task}")
    assert "12月05日 18:00" in shown and "照片" in shown and f"提交 {task}" in shown
    assert "不要私拉电线" not in await chat.say("sec1", f"任务 {notice}")  # not theirs


async def test_dead_letters_say_who_what_and_what_to_do(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    async with sessionmaker() as s, s.begin():
        unbound = await outbox.enqueue(
            s,
            recipient_id=world.people["sec2"].id,
            body={"text": "【通知】防火 电话13800001234 找我"},
            key="k:1",
            now=clock.now(),
        )
        await outbox.mark_final(s, unbound, "undeliverable", "no usable channel identity")
        failed = await outbox.enqueue(
            s,
            recipient_id=world.people["sec3"].id,
            body={"text": "收到"},
            key="k:2",
            now=clock.now(),
        )
        await outbox.mark_final(s, failed, "dead", "HTTP 500 from channel")
    reply = await chat.say("county0", "死信")
    assert "no usable channel identity" not in reply and "HTTP 500" not in reply
    assert f"#{unbound} 书记2｜「【通知】防火 电话138" in reply
    assert "还没有绑定任何渠道｜书记2 还没有绑定，请重新发邀请码" in reply
    assert "13800001234" not in reply and "0000123" not in reply
    assert f"#{failed} 书记3｜「收到」｜多次发送失败" in reply
