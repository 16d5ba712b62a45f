"""The task round trip over the real web chat: live pushes over the WebSocket, 收到 receipts,
evidence with an uploaded photo, 退回 with a reason, resubmission and 通过."""

from __future__ import annotations

import asyncio
import io

import sqlalchemy as sa
from PIL import Image

from storage import people
from storage.models import Assignment, OutboxMessage
from tests.factories import make_world
from tests.webclient import webchat_server


def png() -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (64, 48), (30, 160, 90)).save(buf, "PNG")
    return buf.getvalue()


async def _code(sessionmaker, clock, person) -> str:
    async with sessionmaker() as s, s.begin():
        inv = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=clock.now(), person_id=person.id
        )
    return inv.code


async def _row(sessionmaker, key, done, rounds=250):
    """The delivery worker commits just after pushing: wait for that commit, not for time."""
    for _ in range(rounds):
        async with sessionmaker() as s:
            row = await s.scalar(
                sa.select(OutboxMessage).where(OutboxMessage.idempotency_key == key)
            )
        if row is not None and done(row):
            return row
        await asyncio.sleep(0.02)
    raise AssertionError(f"outbox row {key} never reached the expected state")


async def test_return_and_approve_round_trip_over_the_web_chat(
    engine, sessionmaker, clock, database_url, tmp_path
):
    world = await make_world(sessionmaker, clock.now())
    async with webchat_server(database_url, tmp_path, clock, run_scheduler=False) as server:
        async with server.client() as staff, server.client() as sec:
            await staff.bind(await _code(sessionmaker, clock, world.people["county0"]))
            await sec.bind(await _code(sessionmaker, clock, world.people["sec0"]))

            frames = await staff.send(
                "发任务 张贴政策明白纸 / 截止 本周五 / 范围 石门村 / 需要照片"
            )
            assert "请核对" in frames[0]["text"]  # a preview first: nothing sent yet
            [send] = [b for b in frames[0]["buttons"] if b["label"] == "确认发送"]
            sent = "\n".join(f["text"] for f in await staff.press(send["payload"], "确认发送"))
            assert "给 1 个村" in sent
            server.wake_delivery()
            push = await sec.next_push(timeout=15)
            assert "张贴政策明白纸" in push["text"]
            assert [b["label"] for b in push["buttons"]] == ["收到", "已完成"]
            number = int(push["buttons"][0]["payload"].rsplit(":", 1)[1])
            assert number == 1 and "任务 1" in push["text"]
            async with sessionmaker() as s:
                aid = await s.scalar(sa.select(Assignment.id))
            delivered = await _row(sessionmaker, f"task:{aid}", lambda r: r.status == "sent")
            assert delivered.delivered_at is not None  # the page was open

            acked = await sec.press(push["buttons"][0]["payload"], "收到")
            assert "已确认收到" in acked[0]["text"]
            assert (await _row(sessionmaker, f"task:{aid}", lambda r: r.acked_at)).acked_at

            assert "完成情况" in await sec.say("提交 1")
            status, body = await sec.upload(png(), "wall.png", "image/png")
            assert status == 200 and "1 张照片" in body["frames"][0]["text"]
            assert "等待审核" in await sec.say("好了")

            server.wake_delivery()
            review = await staff.next_push(timeout=15)
            assert "（任务 1）" in review["text"] and "附照片 1 张" in review["text"]
            assert "通过 1 石门村" in review["text"]
            returned = await staff.say("退回 1 石门村 照片看不清，请重拍 / 截止 3天内")
            assert "已退回" in returned
            server.wake_delivery()
            back = await sec.next_push(timeout=15)
            assert "照片看不清，请重拍" in back["text"]

            await sec.say("提交 1 已重新拍照张贴")
            await sec.upload(png(), "again.png", "image/png")
            assert "等待审核" in await sec.say("好了")
            server.wake_delivery()
            again = await staff.next_push(timeout=15)
            approved = await staff.press(again["buttons"][0]["payload"], "通过")
            assert "已通过" in approved[0]["text"]
            server.wake_delivery()
            final = await sec.next_push(timeout=15)
            assert "审核通过" in final["text"]
    async with sessionmaker() as s:
        row = await s.get(Assignment, aid)
    assert row.status == "approved" and row.evidence["texts"] == ["已重新拍照张贴"]
    assert [h["action"] for h in row.evidence["history"]] == [
        "submitted",
        "returned",
        "submitted",
        "approved",
    ]
