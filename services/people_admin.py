"""Managing people from the console (人员): invite a new person, revoke an unused code, 换手机
(log the person's channels out and give them a fresh code), move a village cadre to another
village, deactivate (services.people.deactivate, the CLI's use case), reactivate.

Who may: township staff within their township, county staff within their county, each for the
roles their own role manages (core.roles.MANAGES); village cadres manage nobody. A person or a
code outside the actor's region is answered like an unknown one (NotFound), a village outside
it like any foreign region (services.scope: Refused). Every change is audited here or in
services.people, in the caller's transaction.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime

from core.errors import Conflict, Invalid, NotFound
from core.roles import ROLES, STAFF_ROLES, VILLAGE_ROLES, Level, manages
from services import people as people_service
from services import scope
from storage import audit, regions
from storage import people as people_store
from storage import people_admin as admin_store
from storage import webchat as identity_store
from storage.people import InviteDTO, PersonDTO
from storage.readmodels import people_list
from storage.readmodels.people_list import PendingInvite
from storage.session import AsyncSession

MAX_NAME = 32
_CODE = re.compile(r"[A-Z0-9]{4,32}")  # what an invite code may look like (storage.people)
NAME_NEEDED = "请填写姓名。"
NAME_BAD = f"姓名最多 {MAX_NAME} 个字，不能含有换行等特殊字符。"
ROLE_NEEDED = "请选择身份。"
UNKNOWN_PERSON = "找不到这个人员。"
UNKNOWN_CODE = "找不到这个邀请码。"
CODE_SPENT = "这个邀请码已经用过或已过期，不用撤销。"
INACTIVE = "{name}已经停用，不能再{what}。"
NOT_SELF = "不能对自己{what}。"
NOT_VILLAGE_ROLE = "只有村级人员（第一书记、驻村工作队员、村干部）可以调到别的村。"
NOT_A_VILLAGE = "请选择一个村。"
SAME_VILLAGE = "{name}已经在{village}。"
MANAGING = "管理人员"
INVITING = people_service.INVITING
REVOKING = "撤销邀请码"
REBINDING = "换手机（重新绑定）"
MOVING = "调整所在村"
DEACTIVATING = "停用"
REACTIVATING = "重新启用"
STILL_ACTIVE = "{name}没有停用，不用重新启用。"


def clean_name(raw: str) -> str:
    name = raw.strip()
    if not name:
        raise Invalid(NAME_NEEDED, field="name")
    if len(name) > MAX_NAME or any(unicodedata.category(c)[0] == "C" for c in name):
        raise Invalid(NAME_BAD, field="name")
    return name


async def person_in_scope(session: AsyncSession, me: PersonDTO, person_id: int) -> PersonDTO:
    """The person ``person_id`` when they lie within ``me``'s region; an unknown id and another
    region's person are refused alike (NotFound, nothing of them in the message)."""
    found = await people_store.get(session, person_id) if person_id else None
    if found is None or not await scope.can_see(session, me, found.region_id):
        raise NotFound(UNKNOWN_PERSON, field="person")
    return found


def require_staff(me: PersonDTO, what: str = MANAGING) -> None:
    scope.require_role(me, STAFF_ROLES, what)


async def managed_person(
    session: AsyncSession, me: PersonDTO, person_id: int, what: str = MANAGING
) -> PersonDTO:
    """A person ``me`` may act on: in scope, of a role ``me`` manages, active, not ``me``."""
    require_staff(me, what)
    person = await person_in_scope(session, me, person_id)
    people_service.require_manages(me, person.role, what)
    if person.id == me.id:
        raise Invalid(NOT_SELF.format(what=what))
    if not person.active:
        raise Conflict(INACTIVE.format(name=person.name, what=what))
    return person


async def invite_new(
    session: AsyncSession, me: PersonDTO, *, name: str, role: str, region_id: int, now: datetime
) -> InviteDTO:
    """Register a person (name, role, place) and a one-time code that binds them. The person is
    listed as never bound until the code is used; nothing is written when a check fails."""
    if role not in ROLES:
        raise Invalid(ROLE_NEEDED, field="role")
    people_service.require_manages(me, role, INVITING)
    name = clean_name(name)
    await scope.require_scope(session, me, region_id, "这个地区")
    person = await people_store.add(session, name=name, role=role, region_id=region_id, now=now)
    made = await people_service.invite(
        session, me, role=role, region_id=region_id, now=now, name=name, person_id=person.id
    )
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="person.add",
        obj=f"person:{person.id}",
        detail={"role": role, "region": region_id, "via": "console"},
    )
    return made


async def invite_in_scope(session: AsyncSession, me: PersonDTO, code: str) -> PendingInvite:
    """A code whose place lies within ``me``'s region, seen by someone who manages its role
    (others: NotFound, as for an unknown code)."""
    code = people_store.normalize_code(code)
    found = await people_list.invite(session, code) if _CODE.fullmatch(code) else None
    if (
        found is None
        or not await scope.can_see(session, me, found.region_id)
        or not manages(me.role, found.role)
    ):
        raise NotFound(UNKNOWN_CODE, field="code")
    return found


async def revoke_invite(
    session: AsyncSession, me: PersonDTO, code: str, *, now: datetime
) -> PendingInvite:
    """Make an unused code unusable: binding with it is refused from now on."""
    require_staff(me, REVOKING)
    found = await invite_in_scope(session, me, code)
    if not await admin_store.revoke_invites(session, now, code=found.code):
        raise Conflict(CODE_SPENT, field="code")
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="invite.revoke",
        obj=f"invite:{found.code}",
        detail={"person": found.person_id, "region": found.region_id},
    )
    return found


async def rebind(
    session: AsyncSession, me: PersonDTO, person_id: int, *, now: datetime
) -> InviteDTO:
    """换手机: log every channel of the person out (their old phone no longer speaks for them),
    end their console sessions, revoke their unused codes, and make a fresh code for them."""
    person = await managed_person(session, me, person_id, REBINDING)
    return await _fresh_code(session, me, person, "person.rebind", now)


async def stopped_person(session: AsyncSession, me: PersonDTO, person_id: int) -> PersonDTO:
    """A deactivated person ``me`` may bring back: in scope, of a role ``me`` manages, not
    ``me``."""
    require_staff(me, REACTIVATING)
    person = await person_in_scope(session, me, person_id)
    people_service.require_manages(me, person.role, REACTIVATING)
    if person.id == me.id:
        raise Invalid(NOT_SELF.format(what=REACTIVATING))
    if person.active:
        raise Conflict(STILL_ACTIVE.format(name=person.name))
    return person


async def reactivate(
    session: AsyncSession, me: PersonDTO, person_id: int, *, now: datetime
) -> InviteDTO:
    """重新启用 a deactivated person (back from a posting, or stopped by mistake). They come back
    through a fresh code only: the chat accounts they had are logged out first, since the old
    phone may have changed hands while they were away."""
    person = await stopped_person(session, me, person_id)
    back = await people_store.set_active(session, person.id, True)
    assert back is not None  # person_in_scope found the row
    return await _fresh_code(session, me, back, "person.reactivate", now)


async def _fresh_code(
    session: AsyncSession, me: PersonDTO, person: PersonDTO, action: str, now: datetime
) -> InviteDTO:
    """Log the person's chat accounts and console sessions out, revoke their unused codes, make
    one new code; audited as ``action``."""
    retired = [
        await identity_store.retire_identity(session, channel, ext)
        for channel, ext in await admin_store.live_identities(session, person.id)
    ]
    revoked = await admin_store.revoke_invites(session, now, person_id=person.id)
    ended = await admin_store.end_console_sessions(session, person.id, now)
    made = await people_service.invite(
        session,
        me,
        role=person.role,
        region_id=person.region_id,
        now=now,
        name=person.name,
        person_id=person.id,
    )
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action=action,
        obj=f"person:{person.id}",
        detail={"identities": retired, "invites_revoked": len(revoked), "sessions": ended},
    )
    return made


async def move(
    session: AsyncSession, me: PersonDTO, person_id: int, village_id: int, *, now: datetime
) -> PersonDTO:
    """Move a village cadre to another village within ``me``'s region (their unused codes
    follow them)."""
    person = await managed_person(session, me, person_id, MOVING)
    if person.role not in VILLAGE_ROLES:
        raise Invalid(NOT_VILLAGE_ROLE, field="person")
    await scope.require_scope(session, me, village_id, "这个村")
    village = await regions.get(session, village_id)
    assert village is not None  # require_scope found it
    if village.level != Level.VILLAGE:
        raise Invalid(NOT_A_VILLAGE, field="village")
    if village.id == person.region_id:
        raise Invalid(SAME_VILLAGE.format(name=person.name, village=village.name), field="village")
    await admin_store.set_region(session, person.id, village.id, now)
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="person.move",
        obj=f"person:{person.id}",
        detail={"from": person.region_id, "to": village.id},
    )
    moved = await people_store.get(session, person.id)
    assert moved is not None
    return moved


async def deactivate(
    session: AsyncSession, me: PersonDTO, person_id: int, *, now: datetime
) -> PersonDTO:
    """停用 through services.people.deactivate (the CLI's use case, which audits it), after the
    console's own checks: in scope (else NotFound), a role ``me`` manages, not ``me``."""
    person = await managed_person(session, me, person_id, DEACTIVATING)
    return await people_service.deactivate(session, me, person.id, now=now)
