"""The writes behind managing people from the console (人员): revoking unused invite codes,
finding a person's live channel identities (to log them out for 换手机), moving a person to
another village, ending their console sessions. No rule lives here (services.people_admin)."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleSession, Identity, Invite, Person
from storage.readmodels.people_list import RETIRED


async def revoke_invites(
    session: AsyncSession, now: datetime, *, code: str | None = None, person_id: int | None = None
) -> list[str]:
    """Make unused, unexpired codes unusable (their expiry becomes ``now``): one code, or every
    code made for one person. Returns the codes revoked."""
    cond: sa.ColumnElement[bool] = sa.and_(Invite.used_by.is_(None), Invite.expires_at > now)
    if code is not None:
        cond = sa.and_(cond, Invite.code == code)
    if person_id is not None:
        cond = sa.and_(cond, Invite.person_id == person_id)
    codes = list(await session.scalars(sa.select(Invite.code).where(cond).with_for_update()))
    if codes:
        await session.execute(
            sa.update(Invite).where(Invite.code.in_(codes)).values(expires_at=now)
        )
    return codes


async def live_identities(session: AsyncSession, person_id: int) -> list[tuple[str, str]]:
    """(channel, external id) of the person's identities that are not logged out."""
    rows = await session.execute(
        sa.select(Identity.channel, Identity.external_id)
        .where(Identity.person_id == person_id, ~Identity.external_id.startswith(RETIRED))
        .order_by(Identity.id)
    )
    return [(channel, ext) for channel, ext in rows]


async def set_region(session: AsyncSession, person_id: int, region_id: int, now: datetime) -> None:
    """Move a person (and the unused codes made for them) to another region."""
    await session.execute(
        sa.update(Person).where(Person.id == person_id).values(region_id=region_id)
    )
    await session.execute(
        sa.update(Invite)
        .where(Invite.person_id == person_id, Invite.used_by.is_(None), Invite.expires_at > now)
        .values(region_id=region_id)
    )


async def end_console_sessions(session: AsyncSession, person_id: int, now: datetime) -> int:
    """Sign a person out of every console browser."""
    result = await session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.person_id == person_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
    return int(getattr(result, "rowcount", 0) or 0)
