"""The console's people page (人员): who is in a region, with the channels they bound and when,
when they were last seen, their unused invite codes, and the unused codes not made for anyone
yet. Paged: a count and one page at a time, never the whole county.

Every function takes the ids of the regions within the page's scope (as resolved and checked
by services.scope); none decides who may see what.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Identity, Invite, Person, Region

# storage.webchat.retire_identity renames a logged-out identity with this prefix.
RETIRED = "retired:"


@dataclass(frozen=True)
class Bound:
    channel: str
    bound_at: datetime


@dataclass(frozen=True)
class PendingInvite:
    code: str
    role: str
    region_id: int
    name: str | None
    person_id: int | None
    expires_at: datetime
    used: bool


@dataclass(frozen=True)
class PersonRow:
    id: int
    name: str
    role: str
    region_id: int
    region_name: str
    town_name: str  # the region's parent ("" for a county)
    active: bool
    created_at: datetime
    channels: tuple[Bound, ...]  # bound now (logged-out identities left out)
    last_seen: datetime | None  # the newest message from any of their identities
    ever_bound: bool
    invites: tuple[PendingInvite, ...]  # unused and unexpired, made for this person


@dataclass(frozen=True)
class Filter:
    region_ids: list[int]
    role: str | None = None
    never_bound: bool = False
    person_id: int | None = None


def _where(f: Filter) -> sa.ColumnElement[bool]:
    cond: sa.ColumnElement[bool] = Person.region_id.in_(f.region_ids)
    if f.role is not None:
        cond = sa.and_(cond, Person.role == f.role)
    if f.never_bound:  # the overview's figure: active, and no identity ever
        bound = sa.select(Identity.person_id)
        cond = sa.and_(cond, Person.active.is_(True), Person.id.not_in(bound))
    if f.person_id is not None:
        cond = sa.and_(cond, Person.id == f.person_id)
    return cond


async def count(session: AsyncSession, f: Filter) -> int:
    if not f.region_ids:
        return 0
    n = await session.scalar(sa.select(sa.func.count()).select_from(Person).where(_where(f)))
    return int(n or 0)


async def page(
    session: AsyncSession, f: Filter, *, now: datetime, limit: int, offset: int
) -> list[PersonRow]:
    """One page of people, active first, then by place and name."""
    if not f.region_ids:
        return []
    parent = aliased(Region)
    rows = (
        await session.execute(
            sa.select(
                Person.id,
                Person.name,
                Person.role,
                Person.region_id,
                Region.name,
                sa.func.coalesce(parent.name, ""),
                Person.active,
                Person.created_at,
            )
            .join(Region, Region.id == Person.region_id)
            .outerjoin(parent, parent.id == Region.parent_id)
            .where(_where(f))
            .order_by(Person.active.desc(), parent.name, Region.name, Person.name, Person.id)
            .limit(limit)
            .offset(offset)
        )
    ).all()
    ids = [r[0] for r in rows]
    idents = await _identities(session, ids)
    invites = await _invites_of(session, ids, now)
    out = []
    for pid, name, role, region_id, region, town, active, created in rows:
        mine = idents.get(pid, [])
        seen = [at for _, _, at, _ in mine if at is not None]
        out.append(
            PersonRow(
                pid,
                name,
                role,
                region_id,
                region,
                town,
                bool(active),
                created,
                tuple(Bound(ch, at) for ch, at, _, ext in mine if not ext.startswith(RETIRED)),
                max(seen) if seen else None,
                bool(mine),
                tuple(invites.get(pid, [])),
            )
        )
    return out


async def _identities(
    session: AsyncSession, person_ids: list[int]
) -> dict[int, list[tuple[str, datetime, datetime | None, str]]]:
    if not person_ids:
        return {}
    rows = await session.execute(
        sa.select(
            Identity.person_id,
            Identity.channel,
            Identity.created_at,
            Identity.last_seen_at,
            Identity.external_id,
        )
        .where(Identity.person_id.in_(person_ids))
        .order_by(Identity.created_at, Identity.id)
    )
    out: dict[int, list[tuple[str, datetime, datetime | None, str]]] = {}
    for pid, channel, created, seen, ext in rows:
        out.setdefault(pid, []).append((channel, created, seen, ext))
    return out


def _pending(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(Invite.used_by.is_(None), Invite.expires_at > now)


def _invite(row: Invite) -> PendingInvite:
    return PendingInvite(
        row.code,
        row.role,
        row.region_id,
        row.name,
        row.person_id,
        row.expires_at,
        row.used_by is not None,
    )


async def _invites_of(
    session: AsyncSession, person_ids: list[int], now: datetime
) -> dict[int, list[PendingInvite]]:
    if not person_ids:
        return {}
    rows = await session.scalars(
        sa.select(Invite)
        .where(Invite.person_id.in_(person_ids), _pending(now))
        .order_by(Invite.created_at)
    )
    out: dict[int, list[PendingInvite]] = {}
    for row in rows:
        assert row.person_id is not None
        out.setdefault(row.person_id, []).append(_invite(row))
    return out


async def loose_invites(
    session: AsyncSession, region_ids: list[int], roles: list[str], now: datetime, limit: int
) -> tuple[list[PendingInvite], int]:
    """Unused, unexpired codes for one of ``roles`` made for nobody yet (``cunbot invite
    --name``), newest first, at most ``limit``, and how many there are."""
    if not region_ids or not roles:
        return [], 0
    cond = sa.and_(
        Invite.region_id.in_(region_ids),
        Invite.role.in_(roles),
        Invite.person_id.is_(None),
        _pending(now),
    )
    total = await session.scalar(sa.select(sa.func.count()).select_from(Invite).where(cond))
    rows = await session.scalars(
        sa.select(Invite).where(cond).order_by(Invite.created_at.desc()).limit(limit)
    )
    return [_invite(r) for r in rows], int(total or 0)


async def invite(session: AsyncSession, code: str) -> PendingInvite | None:
    """An invite by its code (used or not, expired or not)."""
    row = await session.get(Invite, code)
    return _invite(row) if row else None


@dataclass(frozen=True)
class Place:
    id: int
    name: str
    level: str
    parent_name: str  # "" for the top


async def places_within(session: AsyncSession, region_id: int) -> list[Place]:
    """The region and every region below it (one query per level; the tree is three deep),
    top first, then by parent and name."""
    top = (
        await session.execute(sa.select(Region.name, Region.level).where(Region.id == region_id))
    ).first()
    if top is None:
        return []
    out = [Place(region_id, top[0], top[1], "")]
    frontier = {region_id: top[0]}
    while frontier:
        rows = (
            await session.execute(
                sa.select(Region.id, Region.name, Region.level, Region.parent_id)
                .where(Region.parent_id.in_(list(frontier)))
                .order_by(Region.name, Region.id)
            )
        ).all()
        found = [Place(rid, name, level, frontier[parent]) for rid, name, level, parent in rows]
        out.extend(sorted(found, key=lambda p: (p.parent_name, p.name)))
        frontier = {p.id: p.name for p in found}
    return out
