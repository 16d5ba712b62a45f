"""People as use cases: invite someone (a one-time code for a role in a region), bind a channel
identity with a code, deactivate a person. Each is written to the audit log.

An ``actor`` of ``None`` is the operator at the command line (``cunbot invite``, ``cunbot person
deactivate``), who may act anywhere; a person acting through the bot or the API is held to the
county roles and their own region (services.scope).
"""

from __future__ import annotations

from datetime import datetime

from core.errors import Conflict, DomainError, Invalid, NotFound
from core.roles import COUNTY_ROLES, ROLE_LEVEL, ROLE_ZH, ROLES, Role
from services import scope
from storage import audit
from storage import people as people_store
from storage import regions as region_store
from storage.people import InviteDTO, PersonDTO
from storage.regions import LEVEL_ZH
from storage.session import AsyncSession

# --- what the person sees when a use case refuses ----------------------------------------------
BIND_UNKNOWN = "邀请码不对，请检查后重新发送（字母不区分大小写）。"
BIND_USED = "这个邀请码已经用过了。每个邀请码只能用一次，请向县里工作人员要一个新的。"
BIND_EXPIRED = "这个邀请码已过期，请向县里工作人员要一个新的。"
BIND_ALREADY = "这个账号已经绑定过了，发送「帮助」查看能做什么。"
UNKNOWN_ROLE = "不认识的身份「{role}」，可选：{roles}"
UNKNOWN_REGION = "找不到编号为 {id} 的地区。"
WRONG_LEVEL = "{role}的辖区应为{level}，「{region}」是{actual}。"
UNKNOWN_PERSON = "找不到编号为 {id} 的人员。"
ALREADY_INACTIVE = "{name}（编号 {id}）已经停用。"
INVITING = "发放邀请码"
DEACTIVATING = "停用人员"


def roles_text() -> str:
    return "、".join(f"{r}（{ROLE_ZH[r]}）" for r in Role)


async def invite(
    session: AsyncSession,
    actor: PersonDTO | None,
    *,
    role: str,
    region_id: int,
    now: datetime,
    name: str | None = None,
    person_id: int | None = None,
) -> InviteDTO:
    """A one-time code that binds its user as ``role`` in ``region_id`` (for an existing person
    when ``person_id`` is given). The region must be of the level the role works at."""
    if role not in ROLES:
        raise Invalid(UNKNOWN_ROLE.format(role=role, roles=roles_text()), field="role")
    as_role = Role(role)
    if actor is not None:
        scope.require_role(actor, COUNTY_ROLES, INVITING)
    region = await region_store.get(session, region_id)
    if region is None:
        raise NotFound(UNKNOWN_REGION.format(id=region_id), field="region")
    if region.level != ROLE_LEVEL[as_role]:
        raise Invalid(
            WRONG_LEVEL.format(
                role=ROLE_ZH[as_role],
                level=LEVEL_ZH[ROLE_LEVEL[as_role]],
                region=region.name,
                actual=LEVEL_ZH.get(region.level, region.level),
            ),
            field="region",
        )
    if actor is not None:
        await scope.require_scope(session, actor, region_id, INVITING)
    made = await people_store.create_invite(
        session, role=role, region_id=region_id, now=now, name=name, person_id=person_id
    )
    await audit.log(
        session,
        at=now,
        person_id=actor.id if actor else None,
        action="invite",
        obj=f"region:{region_id}",
        detail={"role": role, "name": name, "person": person_id},
    )
    return made


_BIND_REFUSALS: dict[str, tuple[type[DomainError], str]] = {
    "unknown": (Invalid, BIND_UNKNOWN),
    "used": (Conflict, BIND_USED),
    "expired": (Conflict, BIND_EXPIRED),
    "already_bound": (Conflict, BIND_ALREADY),
}


async def bind(
    session: AsyncSession, *, channel: str, external_id: str, code: str, now: datetime
) -> PersonDTO:
    """Use an invite code: the channel identity becomes the invited person. A code that is
    unknown, used or expired is refused and nothing is written."""
    result = await people_store.bind(
        session, channel=channel, external_id=external_id, code=code, now=now
    )
    if result.outcome != "ok" or result.person is None:
        error, message = _BIND_REFUSALS[result.outcome]
        raise error(message, field="code")
    person = result.person
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="bind",
        obj=f"person:{person.id}",
        detail={"channel": channel},
    )
    return person


async def deactivate(
    session: AsyncSession, actor: PersonDTO | None, person_id: int, *, now: datetime
) -> PersonDTO:
    """Mark a person inactive: their channel identities no longer reach the bot as them, their
    API tokens no longer open the API, and digests and rosters leave them out."""
    if actor is not None:
        scope.require_role(actor, COUNTY_ROLES, DEACTIVATING)
    person = await people_store.get(session, person_id)
    if person is None:
        raise NotFound(UNKNOWN_PERSON.format(id=person_id), field="person")
    if actor is not None:
        await scope.require_scope(session, actor, person.region_id, DEACTIVATING)
    if not person.active:
        raise Conflict(ALREADY_INACTIVE.format(name=person.name, id=person.id))
    changed = await people_store.set_active(session, person.id, False)
    assert changed is not None
    await audit.log(
        session,
        at=now,
        person_id=actor.id if actor else None,
        action="person.deactivate",
        obj=f"person:{person.id}",
    )
    return changed
