"""Tasks in chat: county staff send, secretaries acknowledge and submit, staff approve/return."""

from __future__ import annotations

import sqlalchemy as sa

from storage import tasks as task_store
from storage.models import Assignment, OutboxMessage, Photo
from tests.chat import ChatDriver
from tests.factories import bind, make_world


async def _setup(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    for key in ("sec0", "sec1", "sec2", "sec3", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    return world, ChatDriver(sessionmaker, clock, rules)


async def _outbox(sessionmaker, prefix):
    async with sessionmaker() as s:
        return list(
            await s.scalars(
                sa.select(OutboxMessage)
                .where(OutboxMessage.idempotency_key.startswith(prefix))
                .order_by(OutboxMessage.id)
            )
        )


async def test_one_line_task_reaches_every_village_of_the_township(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    reply = await chat.dispatch(
        "county0", "发任务 上报危房改造进度 / 截止 12月5日前 / 范围 东岭镇 / 需要照片"
    )
    assert "给 2 个村" in reply
    pushes = await _outbox(sessionmaker, "task:")
    assert {p.recipient_id for p in pushes} == {world.people["sec0"].id, world.people["sec1"].id}
    body = pushes[0].body
    assert "12月05日 18:00" in body["text"] and [b["label"] for b in body["buttons"]] == [
        "收到",
        "已完成",
    ]


async def test_guided_flow_asks_again_for_a_past_deadline_and_unknown_village(
    sessionmaker, clock, rules
):
    world, chat = await _setup(sessionmaker, clock, rules)
    assert "标题" in await chat.say("county0", "发任务")
    assert "说明" in await chat.say("county0", "核对低保名单")
    assert "截止时间" in await chat.say("county0", "核对本村低保户名单并上报变动")
    again = await chat.say("county0", "11月1日")
    assert "已经过了" in again and "12月5日前" in again
    assert "发给哪些村" in await chat.say("county0", "本周五")
    near = await chat.say("county0", "石门")
    assert "石门村" in near and "发给哪些村" in near
    assert "需要上传照片" in await chat.say("county0", "石门村")
    preview = await chat.say("county0", "不需要")
    assert "发给：1 个村" in preview and "石门村" in preview
    assert "给 1 个村" in await chat.say("county0", "确认发送")
    async with sessionmaker() as s:
        (a,) = (await s.scalars(sa.select(Assignment))).all()
    assert a.village_id == world.villages[0].id


async def test_secretary_cannot_send_a_task(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    assert "不能使用「发任务」" in await chat.say("sec0", "发任务 测试 / 截止 明天")
    async with sessionmaker() as s:
        assert await s.scalar(sa.select(sa.func.count()).select_from(Assignment)) == 0


async def test_submit_return_and_approve_round_trip(sessionmaker, clock, rules, tmp_path):
    world, chat = await _setup(sessionmaker, clock, rules)
    await chat.dispatch("county0", "发任务 张贴政策明白纸 / 截止 3天内 / 范围 石门村 / 需要照片")
    async with sessionmaker() as s:
        aid = await s.scalar(sa.select(Assignment.id))
    assert "任务 1｜张贴政策明白纸" in await chat.say("sec0", "任务")
    assert "已确认收到" in "\n".join(r.text for r in await chat.press("sec0", "item:ack:t:1"))
    (push,) = await _outbox(sessionmaker, f"task:{aid}")
    assert push.acked_at is not None
    # Someone else's assignment is refused.
    assert "不是派给您" in await chat.say("sec1", "提交 1 已张贴")
    assert "完成情况" in await chat.say("sec0", "提交 1")
    photo = {
        "sha256": "ab" * 32,
        "path": "ab/x.jpg",
        "thumb_path": "ab/x.thumb.jpg",
        "mime": "image/jpeg",
        "size": 10,
        "width": 4,
        "height": 3,
        "taken_at": None,
    }
    assert "1 张照片" in "\n".join(r.text for r in await chat.photo("sec0", photo))
    assert "1 段文字" in await chat.say("sec0", "已在村务公开栏张贴")
    assert "等待审核" in await chat.say("sec0", "好了")
    assert (
        "提交了「张贴政策明白纸」（任务 1）"
        in (await _outbox(sessionmaker, f"task:{aid}:submitted"))[0].body["text"]
    )
    assert "不能使用" in await chat.say("sec0", "通过 1")
    reply = await chat.say("county0", "退回 1 照片看不清 / 截止 本周五")
    assert "已退回" in reply and "11月13日" in reply
    (back,) = await _outbox(sessionmaker, f"task:{aid}:returned")
    assert "照片看不清" in back.body["text"] and back.recipient_id == world.people["sec0"].id
    assert "已退回" in await chat.say("sec0", "任务")
    # Evidence is required, so even an inline text opens the flow until 好了.
    assert "完成情况" in await chat.say("sec0", "提交 1 已重新拍照")
    # 需要照片: the words alone are refused, the flow stays open for the photo
    assert "请先发一张照片" in await chat.say("sec0", "好了")
    again = {**photo, "sha256": "cd" * 32, "path": "cd/y.jpg", "thumb_path": None}
    await chat.photo("sec0", again)
    assert "等待审核" in await chat.say("sec0", "好了")
    async with sessionmaker() as s:
        row = await s.get(Assignment, aid)
        assert row.status == "submitted"
        assert await s.scalar(sa.select(Photo.assignment_id)) == aid
    assert "已通过" in await chat.say("county0", "通过 1")
    async with sessionmaker() as s:
        dto = await task_store.get_assignment(s, aid)
    assert dto.status == "approved" and dto.returns == 1
    assert "没有需要您办理" in await chat.say("sec0", "任务")


async def test_notice_needs_only_acknowledgement(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    assert "已发出通知" in await chat.dispatch(
        "county0", "发通知 冬季防火 / 内容 注意用电安全 / 范围 全县"
    )
    pushes = await _outbox(sessionmaker, "task:")
    assert len(pushes) == 4 and [b["label"] for b in pushes[0].body["buttons"]] == ["收到"]


async def test_digest_settings(sessionmaker, clock, rules):
    world, chat = await _setup(sessionmaker, clock, rules)
    assert "08:00" in await chat.say("sec0", "设置 早报 8:00")
    assert "已关闭" in await chat.say("sec0", "设置 早报 关")
    assert "设置的写法" in await chat.say("sec0", "设置 早报 25:00")
    from storage import people

    async with sessionmaker() as s:
        me = await people.get(s, world.people["sec0"].id)
    assert me.prefs == {"morning_digest": "08:00", "morning_digest_off": True}


async def test_village_without_secretary_is_reported_and_listed_in_progress(
    sessionmaker, clock, rules
):
    from storage import regions

    world, chat = await _setup(sessionmaker, clock, rules)
    async with sessionmaker() as s, s.begin():
        await regions.add(s, "village", "空村", world.townships[0].id)
    reply = await chat.dispatch("county0", "发任务 核对名单 / 截止 明天 / 范围 东岭镇")
    assert "给 3 个村" in reply and "1 个村没有第一书记" in reply and "空村" in reply
    progress = await chat.say("county0", "进度 1")
    assert "空村｜未确认｜无人接收" in progress
    assert len(await _outbox(sessionmaker, "task:")) == 2


async def test_done_button_without_evidence_and_review_button_approve(sessionmaker, clock, rules):
    _, chat = await _setup(sessionmaker, clock, rules)
    await chat.dispatch("county0", "发任务 统计劳动力 / 截止 本周五 / 范围 石门村")
    async with sessionmaker() as s:
        aid = await s.scalar(sa.select(Assignment.id))
        village = await s.scalar(sa.select(Assignment.village_id))
    assert "完成情况" in "\n".join(r.text for r in await chat.press("sec0", "item:done:t:1"))
    assert "已记下文字" in await chat.say("sec0", "共 126 人，外出务工 48 人")
    assert "等待审核" in await chat.say("sec0", "好了")
    refused = "\n".join(r.text for r in await chat.press("sec0", f"rv:ok:1:{village}"))
    assert "已通过" not in refused
    pressed = await chat.press("county0", f"rv:ok:1:{village}")
    assert "已通过" in "\n".join(r.text for r in pressed)
    async with sessionmaker() as s:
        row = await s.get(Assignment, aid)
    assert row.status == "approved" and row.evidence["texts"] == ["共 126 人，外出务工 48 人"]


async def test_dead_letters_are_shown_to_county_staff_only(sessionmaker, clock, rules):
    from storage import outbox

    world, chat = await _setup(sessionmaker, clock, rules)
    assert "没有发送失败" in await chat.say("county0", "死信")
    async with sessionmaker() as s, s.begin():
        oid = await outbox.enqueue(
            s, recipient_id=world.people["sec2"].id, body={"text": "x"}, key="k:1", now=clock.now()
        )
        await outbox.mark_final(s, oid, "dead", "HTTP 500 from channel")
    reply = await chat.say("county0", "死信")
    assert f"#{oid} 书记2｜「x」｜多次发送失败｜" in reply and "HTTP 500" not in reply
    assert "不能使用" in await chat.say("sec0", "死信")
