"""services.people_admin on a real session: who may manage whom (core.roles.MANAGES within
the actor's region), and what each change leaves behind."""

from __future__ import annotations

import pytest

from core.errors import Invalid, NotFound, Refused
from services import people_admin
from storage import people
from tests.factories import bind, make_world


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


async def test_staff_manage_the_roles_below_theirs_and_peers_within_their_region(
    sessionmaker, clock, world
):
    now, p = clock.now(), world.people
    async with sessionmaker() as s, s.begin():
        admin = await people.add(s, name="管理员", role="admin", region_id=world.county.id, now=now)
    async with sessionmaker() as s, s.begin():
        with pytest.raises(NotFound):  # the county's people lie outside a township
            await people_admin.deactivate(s, p["town0"], p["county1"].id, now=now)
        with pytest.raises(NotFound):  # and so does another township's secretary
            await people_admin.deactivate(s, p["town0"], p["sec2"].id, now=now)
        with pytest.raises(Refused):  # only an administrator manages administrators
            await people_admin.deactivate(s, p["county0"], admin.id, now=now)
        with pytest.raises(Refused):  # a township officer invites no county staff
            await people_admin.invite_new(
                s, p["town0"], name="甲", role="county_staff", region_id=world.county.id, now=now
            )
        with pytest.raises(Refused):  # a secretary manages nobody
            await people_admin.rebind(s, p["sec0"], p["sec0"].id, now=now)
        with pytest.raises(Invalid):
            await people_admin.rebind(s, p["town0"], p["town0"].id, now=now)  # not oneself
    async with sessionmaker() as s, s.begin():
        off = await people_admin.deactivate(s, p["town0"], p["sec1"].id, now=now)
        peer = await people_admin.invite_new(
            s,
            p["town0"],
            name="乙",
            role="township_staff",
            region_id=world.townships[0].id,
            now=now,
        )
        await people_admin.deactivate(s, admin, p["county1"].id, now=now)
    assert not off.active and peer.role == "township_staff"


async def test_rebind_retires_every_channel_and_the_new_code_binds_the_same_person(
    sessionmaker, clock, world
):
    now, sec0 = clock.now(), world.people["sec0"]
    await bind(sessionmaker, sec0, "wecom", "zhang", now)
    await bind(sessionmaker, sec0, "webchat", "browser-1", now)
    async with sessionmaker() as s, s.begin():
        old = await people_admin.rebind(s, world.people["county0"], sec0.id, now=now)
        new = await people_admin.rebind(s, world.people["county0"], sec0.id, now=now)
    async with sessionmaker() as s, s.begin():
        assert await people.by_identity(s, "wecom", "zhang") is None
        assert await people.by_identity(s, "webchat", "browser-1") is None
        stale = await people.bind(s, channel="wecom", external_id="new", code=old.code, now=now)
        assert stale.outcome == "expired"  # the second 换手机 revoked the first code
        fresh = await people.bind(s, channel="wecom", external_id="new", code=new.code, now=now)
        assert fresh.outcome == "ok" and fresh.person and fresh.person.id == sec0.id
