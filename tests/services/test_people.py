"""services.people on a real session: bind, invite and deactivate, each audited."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from core.errors import Conflict, DomainError, Invalid, Refused
from services import people as people_service
from storage import api_tokens, people
from storage.models import Audit, Identity, Invite, Person
from tests.factories import make_world


@pytest.fixture
async def world(sessionmaker, clock):
    return await make_world(sessionmaker, clock.now())


async def _count(sessionmaker, model) -> int:
    async with sessionmaker() as s:
        return int(await s.scalar(sa.select(sa.func.count()).select_from(model)) or 0)


async def test_bind_with_a_used_code_fails_and_writes_only_the_audit(sessionmaker, clock, world):
    async with sessionmaker() as s, s.begin():
        invite = await people_service.invite(
            s,
            None,
            role="secretary",
            region_id=world.villages[0].id,
            now=clock.now(),
            name="新书记",
        )
        bound = await people_service.bind(
            s, channel="test", external_id="u1", code=invite.code, now=clock.now()
        )
    assert bound.name == "新书记" and bound.region_id == world.villages[0].id
    before = {m: await _count(sessionmaker, m) for m in (Person, Identity, Audit)}
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Conflict, match="已经用过"):
            await people_service.bind(
                s, channel="test", external_id="u2", code=invite.code, now=clock.now()
            )
        with pytest.raises(Invalid, match="邀请码不对"):
            await people_service.bind(
                s, channel="test", external_id="u2", code="ZZZZZZZZ", now=clock.now()
            )
    after = {m: await _count(sessionmaker, m) for m in (Person, Identity, Audit)}
    # Nothing but the audit of the two refusals (they count towards the bind lockout).
    assert after == {**before, Audit: before[Audit] + 2}
    async with sessionmaker() as s:
        assert await people.by_identity(s, "test", "u2") is None
        failed = await s.scalars(sa.select(Audit.object).where(Audit.action == "bind.failed"))
        assert list(failed) == ["bind:test:u2", "bind:test:u2"]
        [action] = await s.scalars(
            sa.select(Audit.action).where(Audit.object == f"person:{bound.id}")
        )
    assert action == "bind"


async def test_invite_to_a_region_of_the_wrong_level_is_refused(sessionmaker, clock, world):
    async with sessionmaker() as s, s.begin():
        with pytest.raises(Invalid, match="辖区应为村"):
            await people_service.invite(
                s, None, role="secretary", region_id=world.county.id, now=clock.now()
            )
        with pytest.raises(Invalid, match="不认识的身份"):
            await people_service.invite(
                s, None, role="boss", region_id=world.county.id, now=clock.now()
            )
        with pytest.raises(Refused):  # a village secretary hands out no codes
            await people_service.invite(
                s,
                world.people["sec0"],
                role="secretary",
                region_id=world.villages[0].id,
                now=clock.now(),
            )
    assert await _count(sessionmaker, Invite) == 0
    async with sessionmaker() as s, s.begin():
        made = await people_service.invite(
            s,
            world.people["county0"],
            role="township_staff",
            region_id=world.townships[0].id,
            now=clock.now(),
        )
    async with sessionmaker() as s:
        [entry] = await s.scalars(sa.select(Audit).where(Audit.action == "invite"))
    assert entry.person_id == world.people["county0"].id and entry.detail["role"] == made.role


async def test_deactivate_is_audited_and_shuts_the_person_out(sessionmaker, clock, world):
    from tests.factories import bind

    sec = world.people["sec0"]
    await bind(sessionmaker, sec, "test", "sec", clock.now())
    async with sessionmaker() as s, s.begin():
        token = await api_tokens.create(s, world.people["county1"].id, clock.now())
        with pytest.raises(Refused):  # another village's secretary may not
            await people_service.deactivate(s, world.people["sec1"], sec.id, now=clock.now())
        off = await people_service.deactivate(s, world.people["county0"], sec.id, now=clock.now())
        await people_service.deactivate(s, None, world.people["county1"].id, now=clock.now())
    assert not off.active
    async with sessionmaker() as s:
        assert await people.by_identity(s, "test", "sec") is None
        assert await api_tokens.person_for(s, token) is None
        rows = list(await s.scalars(sa.select(Audit).where(Audit.action == "person.deactivate")))
    assert sorted(r.object for r in rows) == sorted(
        [f"person:{sec.id}", f"person:{world.people['county1'].id}"]
    )
    assert {r.person_id for r in rows} == {world.people["county0"].id, None}
    async with sessionmaker() as s, s.begin():
        with pytest.raises(DomainError, match="已经停用"):
            await people_service.deactivate(s, None, sec.id, now=clock.now())
