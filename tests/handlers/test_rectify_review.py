"""Rectification closes only after review: 整改完成 + photo waits (待复核) until township or
county staff in scope look at the before and after photos and answer 复核通过 / 复核退回."""

from __future__ import annotations

import sqlalchemy as sa

from bot.reports import problem_rows
from services.media import save_image_sync
from storage.models import Assignment, Audit, OutboxMessage, Photo, Problem
from tests.chat import ChatDriver
from tests.conftest import SHANGHAI
from tests.factories import add_household, bind, make_world, photo_bytes


def _text(replies) -> str:
    return "\n".join(r.text for r in replies)


async def _one(sessionmaker, model):
    async with sessionmaker() as s:
        (row,) = (await s.scalars(sa.select(model))).all()
        return row


async def _ledger_status(sessionmaker, village_id: int) -> str:
    async with sessionmaker() as s:
        (row,) = await problem_rows(s, [village_id], "2026-11", SHANGHAI)
    return row[12]


async def test_rectification_waits_for_township_review(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    v0 = world.villages[0].id
    async with sessionmaker() as s, s.begin():
        await add_household(s, v0, "HH0001", "王三女", "监测户", clock.now())
    for key in ("sec0", "town0", "town1", "county0"):
        await bind(sessionmaker, world.people[key], "test", key, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)

    def image(rgb):
        return save_image_sync(rules.media_dir, photo_bytes(rgb)).to_dict()

    await chat.send("sec0", "走访 王三女 屋顶漏雨")
    await chat.photo("sec0", image((90, 10, 10)))  # the card is open: the photo is its
    await chat.press("sec0", "visit:confirm")
    problem = await _one(sessionmaker, Problem)
    # its item is in 任务, but a fix goes through 整改完成 (and so to review), not 已完成 / 提交
    done = await chat.press("sec0", f"item:done:p:{problem.number}")
    assert f"整改完成 {problem.number}" in _text(done)
    clock.advance(days=2)
    await chat.send("sec0", f"整改完成 {problem.number}")
    assert "等待乡镇或县里复核" in _text(await chat.photo("sec0", image((10, 90, 10))))
    assert (await _one(sessionmaker, Problem)).status == "review"
    assert await _ledger_status(sessionmaker, v0) == "待复核"  # not counted as cleared

    # the township in scope sees it, with the before and the after photo as images
    assert "1 项整改待复核" in await chat.say("town0", "待审核")
    shown = await chat.send("town0", "待复核")
    assert "王三女" in shown[0].text and "住房安全" in shown[0].text
    async with sessionmaker() as s:
        paths = {p.visit_id is not None: p.path for p in await s.scalars(sa.select(Photo))}
    images = [(r.text, r.image) for r in shown if r.image]
    assert [i for t, i in images if "整改前" in t] == [paths[True]]
    assert [i for t, i in images if "整改后" in t] == [paths[False]]
    assert [b.label for b in shown[-1].buttons] == ["复核通过", "复核退回"]
    # another township neither sees nor reviews it; a secretary may not review
    assert "没有待复核" in await chat.say("town1", "待复核")
    assert f"没有问题 {problem.number}" in await chat.say("town1", f"复核通过 {problem.number}")
    assert "不能使用" in await chat.say("sec0", f"复核通过 {problem.number}")
    assert (await _one(sessionmaker, Problem)).status == "review"

    # returned with a reason: open again, the village told, the item back in its list
    back = await chat.press("town0", shown[-1].buttons[1].payload)
    assert "退回理由" in _text(back)
    assert "已退回重改" in await chat.say("town0", "照片看不清屋顶 / 截止 本周五")
    assert (await _one(sessionmaker, Problem)).status == "open"
    assert (await _one(sessionmaker, Assignment)).status == "returned"
    async with sessionmaker() as s:
        told = list(await s.scalars(sa.select(OutboxMessage).where(
            OutboxMessage.recipient_id == world.people["sec0"].id
        )))  # fmt: skip
    assert any("照片看不清屋顶" in m.body["text"] for m in told)
    assert "已退回" in await chat.say("sec0", "任务")

    # fixed again: reviewed by the county (all townships), closed only now
    await chat.send("sec0", f"整改完成 {problem.number}")
    await chat.photo("sec0", image((10, 10, 90)))
    again = await chat.send("county0", "待复核")
    approved = await chat.press("county0", again[-1].buttons[0].payload)
    assert "已销号" in _text(approved)
    fixed = await _one(sessionmaker, Problem)
    assert fixed.status == "closed" and fixed.closed_at == clock.now()
    assert (await _one(sessionmaker, Assignment)).status == "approved"
    assert await _ledger_status(sessionmaker, v0) == "已整改"
    # a second press of the same button answers the real state, and changes nothing
    stale = _text(await chat.press("county0", again[-1].buttons[0].payload))
    assert "已整改" in stale
    async with sessionmaker() as s:
        actions = list(
            await s.scalars(sa.select(Audit.action).where(Audit.action.like("problem.%")))
        )
    assert actions.count("problem.fixed") == 2
    assert actions.count("problem.return") == 1 and actions.count("problem.approve") == 1
