"""The inbox makes a retried message a no-op."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from storage import inbox, people
from storage.models import Audit, InboxMessage
from tests.chat import ChatDriver
from tests.factories import make_world


async def test_same_message_id_three_times_is_handled_once(sessionmaker, clock, rules):
    world = await make_world(sessionmaker, clock.now())
    async with sessionmaker() as s, s.begin():
        invite = await people.create_invite(
            s, role="secretary", region_id=world.villages[0].id, now=clock.now()
        )
    chat = ChatDriver(sessionmaker, clock, rules)
    results = [await chat.send("u1", f"绑定 {invite.code}", message_id="same-1") for _ in range(3)]
    assert "绑定成功" in results[0][0].text
    assert results[1] == [] and results[2] == []
    async with sessionmaker() as s:
        assert await inbox.count(s) == 1
        binds = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "bind")
        )
    assert binds == 1


async def test_concurrent_duplicates_are_handled_once(sessionmaker, clock, rules):
    await make_world(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    results = await asyncio.gather(*(chat.send("u9", "帮助", message_id="dup-x") for _ in range(3)))
    assert sum(1 for r in results if r) == 1
    async with sessionmaker() as s:
        rows = (await s.scalars(sa.select(InboxMessage))).all()
    assert len(rows) == 1 and rows[0].handled_at is not None


async def test_handler_crash_writes_nothing_and_apologises(sessionmaker, clock, rules):
    from handlers.registry import Command

    world = await make_world(sessionmaker, clock.now())
    chat = ChatDriver(sessionmaker, clock, rules)
    from tests.factories import bind

    await bind(sessionmaker, world.people["sec0"], "test", "u1", clock.now())

    async def boom(ctx, _args):
        await ctx.audit("half", "x")
        raise RuntimeError("boom")

    chat.inbound.registry.command(Command(("爆炸",), boom, frozenset({"secretary"})))
    replies = await chat.send("u1", "爆炸", message_id="crash-1")
    assert "没有保存" in replies[0].text
    async with sessionmaker() as s:
        half = await s.scalar(
            sa.select(sa.func.count()).select_from(Audit).where(Audit.action == "half")
        )
        row = await s.scalar(sa.select(InboxMessage).where(InboxMessage.message_id == "crash-1"))
    assert half == 0
    assert row is not None and "boom" in (row.error or "")


async def test_over_long_text_is_refused_with_the_limit(sessionmaker, clock, rules):
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "2000" in await chat.say("u1", "字" * 2001)
