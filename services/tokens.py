"""API tokens for county staff, made and revoked from the CLI: each change is audited.

Only county staff may hold one (the JSON API is theirs); the token itself is returned once
and never stored or audited, only the fact that one was made or revoked.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import Refused
from core.roles import COUNTY_ROLES
from storage import api_tokens, audit
from storage.people import PersonDTO
from storage.session import AsyncSession

COUNTY_ONLY = "只有县级工作人员可以使用 API。"


async def create(
    session: AsyncSession, actor: PersonDTO | None, person: PersonDTO, *, now: datetime
) -> str:
    """A new bearer token for ``person`` (``actor``: who made it, ``None`` for the CLI)."""
    if person.role not in COUNTY_ROLES or person.region_level != "county":
        raise Refused(COUNTY_ONLY)
    token = await api_tokens.create(session, person.id, now)
    await audit.log(
        session,
        at=now,
        person_id=actor.id if actor else None,
        action="token.create",
        obj=f"person:{person.id}",
    )
    return token


async def revoke(
    session: AsyncSession, actor: PersonDTO | None, person: PersonDTO, *, now: datetime
) -> int:
    """Revoke every live token of ``person``; how many there were."""
    n = await api_tokens.revoke_all(session, person.id, now)
    await audit.log(
        session,
        at=now,
        person_id=actor.id if actor else None,
        action="token.revoke",
        obj=f"person:{person.id}",
        detail={"revoked": n},
    )
    return n
