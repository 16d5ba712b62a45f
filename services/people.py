"""People as use cases: invite someone (a one-time code for a role in a region), bind a channel
identity with a code, deactivate a person. Each is written to the audit log.

An ``actor`` of ``None`` is the operator at the command line (``cunbot invite``, ``cunbot person
deactivate``), who may act anywhere; a person acting through the console is held to the roles
their own role manages (core.roles.MANAGES) and to their own region (services.scope).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from core.roles import ROLE_LEVEL, ROLE_ZH, ROLES, STAFF_ROLES, Role, manages
from services import scope
from storage import audit
from storage import people as people_store
from storage import people_admin as admin_store
from storage import regions as region_store
from storage import webchat as identity_store
from storage.people import InviteDTO, PersonDTO
from storage.regions import LEVEL_ZH
from storage.session import AsyncSession

# --- what the person sees when a use case refuses ----------------------------------------------
BIND_UNKNOWN = "邀请码不对，请检查后重新发送（字母不区分大小写）。"
BIND_USED = "这个邀请码已经用过了。每个邀请码只能用一次，请向县里工作人员要一个新的。"
BIND_EXPIRED = "这个邀请码已过期，请向县里工作人员要一个新的。"
BIND_ALREADY = "这个账号已经绑定过了，发送「帮助」查看能做什么。"
BIND_LOCKED = "邀请码输错的次数太多了。为了安全，请 {minutes} 分钟后再试。"
UNKNOWN_ROLE = "不认识的身份「{role}」，可选：{roles}"
UNKNOWN_REGION = "找不到编号为 {id} 的地区。"
WRONG_LEVEL = "{role}的辖区应为{level}，「{region}」是{actual}。"
UNKNOWN_PERSON = "找不到编号为 {id} 的人员。"
ALREADY_INACTIVE = "{name}（编号 {id}）已经停用。"
ROLE_NOT_MANAGED = "{role}不能管理{target}。"
INVITING = "发放邀请码"
DEACTIVATING = "停用人员"


def require_manages(actor: PersonDTO, role: str, what: str) -> None:
    """Staff act on the roles below theirs and their peers (core.roles.MANAGES), nobody else."""
    scope.require_role(actor, STAFF_ROLES, what)
    if not manages(actor.role, role):
        raise Refused(
            ROLE_NOT_MANAGED.format(
                role=actor.role_zh, target=ROLE_ZH[Role(role)] if role in ROLES else role
            )
        )


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
        require_manages(actor, as_role, INVITING)
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


# Failed codes (unknown, used or expired) allowed per window, per chat identity (a browser id,
# a WeCom user, a Telegram chat) and per client address; beyond that every attempt, even with
# a correct code, is refused until the oldest failure in the window has aged out.
BIND_WINDOW = timedelta(minutes=10)
BIND_MAX_PER_IDENTITY = 5
BIND_MAX_PER_ADDRESS = 20
BIND_FAILED = "bind.failed"


def _bind_objects(channel: str, external_id: str, address: str | None) -> list[tuple[str, int]]:
    objs = [(f"bind:{channel}:{external_id}"[:64], BIND_MAX_PER_IDENTITY)]
    if address:
        objs.append((f"bind-addr:{address}"[:64], BIND_MAX_PER_ADDRESS))
    return objs


async def bind_wait(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    now: datetime,
    address: str | None = None,
) -> int | None:
    """Minutes until this identity (or address) may try a code again; ``None`` when it may now.
    Read from the audit rows of failed binds, so it holds across processes."""
    wait = 0.0
    for obj, most in _bind_objects(channel, external_id, address):
        times = await identity_store.recent_audit_times(
            session, BIND_FAILED, obj, now - BIND_WINDOW, most
        )
        if len(times) >= most:
            wait = max(wait, (times[-1] + BIND_WINDOW - now).total_seconds())
    return max(1, math.ceil(wait / 60)) if wait > 0 else None


async def bind(
    session: AsyncSession,
    *,
    channel: str,
    external_id: str,
    code: str,
    now: datetime,
    address: str | None = None,
) -> PersonDTO:
    """Use an invite code: the channel identity becomes the invited person. A code that is
    unknown, used or expired is refused, audited (``bind.failed``) and counts towards the
    lockout; while locked out (:func:`bind_wait`) every code is refused (``bind.locked``)."""
    detail = {"channel": channel, "address": address}
    wait = await bind_wait(
        session, channel=channel, external_id=external_id, now=now, address=address
    )
    if wait is not None:
        obj = _bind_objects(channel, external_id, address)[0][0]
        await audit.log(
            session, at=now, person_id=None, action="bind.locked", obj=obj, detail=detail
        )
        raise Refused(BIND_LOCKED.format(minutes=wait), field="code")
    result = await people_store.bind(
        session, channel=channel, external_id=external_id, code=code, now=now
    )
    if result.outcome != "ok" or result.person is None:
        if result.outcome != "already_bound":
            for obj, _ in _bind_objects(channel, external_id, address):
                await audit.log(
                    session,
                    at=now,
                    person_id=None,
                    action=BIND_FAILED,
                    obj=obj,
                    detail={**detail, "outcome": result.outcome},
                )
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


async def logout(
    session: AsyncSession, person: PersonDTO, *, channel: str, external_id: str, now: datetime
) -> bool:
    """End this chat identity's session (this browser only; the person's other channels and
    browsers stay bound). Audited. False when it was not bound."""
    identity_id = await identity_store.retire_identity(session, channel, external_id)
    if identity_id is None:
        return False
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="logout",
        obj=f"person:{person.id}",
        detail={"channel": channel, "identity": identity_id},
    )
    return True


async def deactivate(
    session: AsyncSession, actor: PersonDTO | None, person_id: int, *, now: datetime
) -> PersonDTO:
    """Mark a person inactive: their channel identities no longer reach the bot as them, their
    API tokens no longer open the API, their unused invite codes no longer bind, and digests
    and rosters leave them out."""
    if actor is not None:
        scope.require_role(actor, STAFF_ROLES, DEACTIVATING)
    person = await people_store.get(session, person_id)
    if person is None:
        raise NotFound(UNKNOWN_PERSON.format(id=person_id), field="person")
    if actor is not None:
        await scope.require_scope(session, actor, person.region_id, DEACTIVATING)
        require_manages(actor, person.role, DEACTIVATING)
    if not person.active:
        raise Conflict(ALREADY_INACTIVE.format(name=person.name, id=person.id))
    changed = await people_store.set_active(session, person.id, False)
    assert changed is not None
    # Their unused codes would still bind a chat to someone who may no longer use it.
    revoked = await admin_store.revoke_invites(session, now, person_id=person.id)
    await audit.log(
        session,
        at=now,
        person_id=actor.id if actor else None,
        action="person.deactivate",
        obj=f"person:{person.id}",
        detail={"invites_revoked": len(revoked)} if revoked else None,
    )
    return changed
