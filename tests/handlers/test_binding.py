"""Binding with invite codes, the unbound sender's limits, and scope checks."""

from __future__ import annotations

from datetime import timedelta

import pytest

from handlers.context import Context, Refused
from storage import people
from tests.chat import ChatDriver
from tests.factories import make_world


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


async def _invite(sessionmaker, clock, world, role="secretary", village=0, **kw):
    region = world.villages[village] if role == "secretary" else world.county
    async with sessionmaker() as s, s.begin():
        return await people.create_invite(
            s, role=role, region_id=region.id, now=clock.now(), name="王书记", **kw
        )


async def test_good_code_binds_and_help_lists_role_commands(sessionmaker, clock, rules, world):
    invite = await _invite(sessionmaker, clock, world)
    chat = ChatDriver(sessionmaker, clock, rules)
    reply = await chat.say("u1", f"绑定 {invite.code.lower()}")
    assert "绑定成功" in reply and "王书记" in reply and world.villages[0].name in reply
    help_text = await chat.say("u1", "帮助")
    assert "我的信息" in help_text
    async with sessionmaker() as s:
        me = await people.by_identity(s, "test", "u1")
    assert me is not None and me.role == "secretary" and me.region_id == world.villages[0].id


async def test_used_code_is_refused(sessionmaker, clock, rules, world):
    invite = await _invite(sessionmaker, clock, world)
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "绑定成功" in await chat.say("u1", f"绑定 {invite.code}")
    assert "已经用过" in await chat.say("u2", f"绑定 {invite.code}")
    async with sessionmaker() as s:
        assert await people.by_identity(s, "test", "u2") is None


async def test_expired_code_is_refused(sessionmaker, clock, rules, world):
    invite = await _invite(sessionmaker, clock, world)
    clock.advance(people.INVITE_TTL + timedelta(seconds=1))
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "已过期" in await chat.say("u1", f"/start {invite.code}")


async def test_wrong_code_and_unbound_commands_explain_binding(sessionmaker, clock, rules, world):
    chat = ChatDriver(sessionmaker, clock, rules)
    assert "邀请码不对" in await chat.say("u1", "绑定 ZZZZZZZZ")
    assert "请先绑定" in await chat.say("u1", "我的信息")
    assert "绑定 邀请码" in await chat.say("u1", "帮助")
    assert "写上邀请码" in await chat.say("u1", "绑定")


async def test_secretary_of_village_a_cannot_reach_village_b(sessionmaker, clock, rules, world):
    sec = world.people["sec0"]
    async with sessionmaker() as s:
        ctx = Context(s, clock, rules, ChatDriver(sessionmaker, clock, rules).incoming("x"), sec)
        await ctx.require_scope(world.villages[0].id)
        with pytest.raises(Refused, match="本辖区"):
            await ctx.require_scope(world.villages[1].id)


async def test_county_staff_scope_covers_its_villages_only(sessionmaker, clock, rules, world):
    from storage import regions

    staff = world.people["county0"]
    async with sessionmaker() as s, s.begin():
        other = await regions.add(s, "county", "邻县")
        other_town = await regions.add(s, "township", "外乡", other.id)
        other_village = await regions.add(s, "village", "外村", other_town.id)
    async with sessionmaker() as s:
        ctx = Context(s, clock, rules, ChatDriver(sessionmaker, clock, rules).incoming("x"), staff)
        for village in world.villages:
            await ctx.require_scope(village.id)
        with pytest.raises(Refused):
            await ctx.require_scope(other_village.id)
        assert sorted(await ctx.my_village_ids()) == sorted(v.id for v in world.villages)


async def test_invite_role_must_match_region_level(sessionmaker, clock, world):
    async with sessionmaker() as s:
        with pytest.raises(ValueError, match="needs a village"):
            await people.create_invite(
                s, role="secretary", region_id=world.county.id, now=clock.now()
            )


async def test_channel_event_gets_no_reply_when_bound_and_a_bind_hint_when_not(
    sessionmaker, clock, rules, world
):
    from tests.factories import bind

    chat = ChatDriver(sessionmaker, clock, rules)
    await bind(sessionmaker, world.people["sec0"], "test", "u1", clock.now())
    assert await chat.inbound.receive(chat.incoming("u1", kind="event", text="enter_agent")) == []
    unbound = await chat.inbound.receive(chat.incoming("u2", kind="event", text="enter_agent"))
    assert unbound and "绑定" in unbound[0].text
