"""发任务 / 发通知 through the chat: one question at a time (title, 说明, deadline, scope,
photos), a preview before anything is sent, and only 确认发送 sends."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa

from storage.models import Audit, Conversation, OutboxMessage, Task
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import bind, make_world


async def _setup(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "sec1", "county0", "town0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    return world, ChatDriver(sessionmaker, clock, rules)


async def _count(sessionmaker, model, *where) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(model).where(*where)))


def _text(replies) -> str:
    return "\n".join(r.text for r in replies)


def _button(replies, label: str) -> str:
    return next(b.payload for r in replies for b in r.buttons if b.label == label)


async def test_guided_task_shows_preview_and_sends_only_on_confirm(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    assert "标题" in await chat.say("county0", "发任务")
    body_ask = await chat.send("county0", "上报危房改造进度")
    assert "说明" in _text(body_ask) and "不写说明" in [b.label for b in body_ask[0].buttons]
    body = "逐户核对危房改造进度\n拍摄改造后的房屋\n填写进度表\n周五前交乡镇汇总"
    assert "截止时间" in await chat.say("county0", body)
    assert "发给哪些村" in await chat.say("county0", "12月5日前")
    asked = await chat.send("county0", "东岭镇")
    assert [b.label for b in asked[0].buttons] == ["需要照片", "不需要"]
    preview = await chat.press("county0", _button(asked, "需要照片"))
    shown = _text(preview)
    assert "任务：上报危房改造进度" in shown
    assert "逐户核对危房改造进度\n拍摄改造后的房屋\n填写进度表……" in shown  # the first lines
    assert "周五前交乡镇汇总" not in shown
    assert "截止：12月05日 18:00" in shown
    assert "发给：2 个村" in shown and "东岭镇（2）：石门村、柳树村" in shown
    assert "照片：完成时需要上传照片" in shown
    assert [b.label for b in preview[0].buttons] == ["确认发送", "修改", "取消"]
    assert await _count(sessionmaker, Task) == 0 and await _count(sessionmaker, OutboxMessage) == 0

    # 修改 one field: the preview comes back with it changed and the rest as it was
    fields = await chat.press("county0", _button(preview, "修改"))
    assert [b.label for b in fields[0].buttons] == ["标题", "说明", "截止", "范围", "照片"]
    await chat.press("county0", _button(fields, "范围"))
    again = await chat.send("county0", "石门村")
    assert "发给：1 个村" in _text(again) and "上报危房改造进度" in _text(again)
    assert "照片：完成时需要上传照片" in _text(again)
    assert await _count(sessionmaker, Task) == 0

    # a press on another draft's buttons is stale: refused, audited, nothing sent
    send = _button(again, "确认发送")
    forged = send.rsplit(":", 1)[0] + ":" + str(int(send.rsplit(":", 1)[1]) % 2_000_000_000 + 1)
    assert "失效" in _text(await chat.press("county0", forged))
    assert await _count(sessionmaker, Task) == 0

    sent = _text(await chat.press("county0", send))
    assert "已发出任务「上报危房改造进度」" in sent and "给 1 个村" in sent
    async with sessionmaker() as s:
        (task,) = (await s.scalars(sa.select(Task))).all()
    assert task.body == body and task.evidence_required is True
    assert await _count(sessionmaker, OutboxMessage, OutboxMessage.recipient_id == world.people["sec0"].id) == 1  # fmt: skip
    assert await _count(sessionmaker, Conversation) == 0
    # pressing 确认发送 twice sends once: the second press is stale
    assert "失效" in _text(await chat.press("county0", send))
    assert await _count(sessionmaker, Task) == 1
    assert await _count(sessionmaker, Audit, Audit.action == "refused") == 2


async def test_bad_deadline_reasks_only_the_deadline(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    await chat.say("county0", "发任务")
    await chat.say("county0", "核对低保名单")
    await chat.say("county0", "核对本村低保户名单")
    again = await chat.say("county0", "截止 昨天")
    assert "没看懂截止时间「昨天」" in again and "请发送截止时间" in again
    assert "标题" not in again and "说明" not in again
    # the next answer goes to the deadline; title and 说明 are not asked again
    assert "发给哪些村" in await chat.say("county0", "本周五")
    await chat.say("county0", "石门村")
    preview = await chat.send("county0", "不需要")
    shown = _text(preview)
    assert "任务：核对低保名单" in shown and "说明：核对本村低保户名单" in shown
    assert "截止：11月13日 18:00" in shown and "照片：不需要" in shown

    # a bad deadline from 修改 re-asks the deadline only, then the preview keeps the rest
    fields = await chat.press("county0", _button(preview, "修改"))
    await chat.press("county0", _button(fields, "截止"))
    refused = await chat.say("county0", "11月1日")
    assert "已经过了" in refused and "请核对" not in refused
    back = await chat.say("county0", "下周五")
    assert "截止：11月20日 18:00" in back
    assert "核对低保名单" in back and "说明：核对本村低保户名单" in back and "石门村" in back
    assert await _count(sessionmaker, Task) == 0
    assert "给 1 个村" in await chat.say("county0", "确认发送")  # the label typed is a press


async def test_one_message_task_is_previewed_and_cancel_sends_nothing(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    clock.set(datetime(2026, 11, 10, 23, 0, tzinfo=SHANGHAI))  # quiet hours
    preview = await chat.send("county0", "发任务 张贴明白纸 / 截止 本周五 / 范围 全县 / 需要照片")
    shown = _text(preview)
    assert "发给：4 个村" in shown and "西川乡（2）：杏花村、河湾村" in shown
    assert "推送将在 07:30 发出" in shown
    dropped = await chat.press("county0", _button(preview, "取消"))
    assert "没有发出" in _text(dropped)
    assert await _count(sessionmaker, Task) == 0 and await _count(sessionmaker, OutboxMessage) == 0
    # a township officer's preview names only their own township's villages
    own = await chat.send("town0", "发通知 冬季防火 / 内容 注意用电 / 范围 全县")
    assert "发给：2 个村" in _text(own) and "截止" not in _text(own)
