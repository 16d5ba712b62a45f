"""People, their channel identities, and one-time invite codes (邀请码)."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core import privacy
from core.roles import ROLE_LEVEL, ROLE_ZH, ROLES, VILLAGE_ROLES, Role
from storage import regions as region_store
from storage.conversations import State
from storage.models import DIGEST_EPOCH, Conversation, Identity, Invite, Person, Region

INVITE_TTL = timedelta(days=7)
# last_seen_at is kept to this resolution, so most messages write nothing about identities.
SEEN_RESOLUTION = timedelta(minutes=10)
# No 0/O/1/I/L: codes are read aloud and typed on phones.
_CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"


@dataclass(frozen=True)
class PersonDTO:
    id: int
    name: str
    role: str
    region_id: int
    region_name: str
    region_level: str
    phone: str | None = None
    prefs: dict[str, Any] = field(default_factory=dict)
    last_channel: str | None = None
    # Set when loaded through a channel identity (by_identity): that identity's state.
    seen_at: datetime | None = None
    identity_ok: bool = True
    identity_id: int | None = None
    active: bool = True  # an inactive person is no longer let in (services.people.deactivate)

    @property
    def role_zh(self) -> str:
        return ROLE_ZH[Role(self.role)] if self.role in ROLES else self.role

    @property
    def is_village(self) -> bool:
        return self.role in VILLAGE_ROLES


@dataclass(frozen=True)
class Author:
    """Who wrote a message (``None`` when the identity is not bound to an active person) and
    the multi-step flow they are in, if any."""

    person: PersonDTO | None
    state: State | None = None


@dataclass(frozen=True)
class InviteDTO:
    code: str
    role: str
    region_id: int
    region_name: str
    name: str | None
    expires_at: datetime


BindOutcome = Literal["ok", "unknown", "used", "expired", "already_bound"]


@dataclass(frozen=True)
class BindResult:
    outcome: BindOutcome
    person: PersonDTO | None = None


def mask_phone(phone: str | None) -> str:
    """138****5678: personal data never appears in full in chat or logs."""
    return privacy.mask_phone(phone)


async def _dto(session: AsyncSession, p: Person) -> PersonDTO:
    region = await region_store.get(session, p.region_id)
    assert region is not None
    return PersonDTO(
        id=p.id,
        name=p.name,
        role=p.role,
        region_id=p.region_id,
        region_name=region.name,
        region_level=region.level,
        phone=p.phone,
        prefs=dict(p.prefs or {}),
        last_channel=p.last_channel,
        active=p.active,
    )


async def get(session: AsyncSession, person_id: int) -> PersonDTO | None:
    p = await session.get(Person, person_id)
    return await _dto(session, p) if p else None


async def add(
    session: AsyncSession,
    *,
    name: str,
    role: str,
    region_id: int,
    now: datetime,
    phone: str | None = None,
) -> PersonDTO:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    p = Person(name=name, role=role, region_id=region_id, phone=phone, created_at=now, prefs={})
    session.add(p)
    await session.flush()
    return await _dto(session, p)


SENDER_QUERY = (
    sa.select(
        Person.id,
        Person.name,
        Person.role,
        Person.region_id,
        Person.phone,
        Person.prefs,
        Person.last_channel,
        Region.name,
        Region.level,
        Identity.id,
        Identity.last_seen_at,
        Identity.status,
        Conversation.flow,
        Conversation.step,
        Conversation.data,
        Conversation.updated_at,
    )
    .select_from(Identity)
    .join(Person, Person.id == Identity.person_id)
    .join(Region, Region.id == Person.region_id)
    .outerjoin(Conversation, Conversation.person_id == Person.id)
    .where(
        Identity.channel == sa.bindparam("channel"),
        Identity.external_id == sa.bindparam("external_id"),
        Person.active,
    )
)


async def sender(session: AsyncSession, channel: str, external_id: str) -> Author:
    """The active person behind a channel identity and their conversation state, in one query
    of plain columns: this runs for every inbound message."""
    row = (
        await session.execute(SENDER_QUERY, {"channel": channel, "external_id": external_id})
    ).first()
    return Author(None) if row is None else author_from_row(row)


def author_from_row(row: Sequence[Any]) -> Author:
    """The sender from a row of :data:`SENDER_QUERY`'s columns (datetimes aware, in UTC)."""
    (pid, name, role, region_id, phone, prefs, last_channel, region_name, region_level) = row[:9]
    identity_id, seen_at, status, flow, step, data, updated_at = row[9:16]
    person = PersonDTO(
        id=pid,
        name=name,
        role=role,
        region_id=region_id,
        region_name=region_name,
        region_level=region_level,
        phone=phone,
        prefs=dict(prefs or {}),
        last_channel=last_channel,
        seen_at=seen_at,
        identity_ok=status == "ok",
        identity_id=identity_id,
    )
    state = State(flow, step, dict(data or {}), updated_at) if flow is not None else None
    return Author(person, state)


async def by_identity(session: AsyncSession, channel: str, external_id: str) -> PersonDTO | None:
    """The active person behind a channel identity."""
    return (await sender(session, channel, external_id)).person


def needs_touch(person: PersonDTO, channel: str, now: datetime) -> bool:
    """Whether this message changes what we know of the identity: a new channel, a blocked
    identity writing again, or a last-seen time older than ``SEEN_RESOLUTION``."""
    return (
        person.last_channel != channel
        or not person.identity_ok
        or person.seen_at is None
        or now - person.seen_at > SEEN_RESOLUTION
    )


async def touch_identity(
    session: AsyncSession, person_id: int, channel: str, external_id: str, now: datetime
) -> None:
    """Remember which channel the person used last (pushes go there by default)."""
    await session.execute(
        sa.update(Identity)
        .where(Identity.channel == channel, Identity.external_id == external_id)
        .values(last_seen_at=now, status="ok")
    )
    await session.execute(
        sa.update(Person).where(Person.id == person_id).values(last_channel=channel)
    )


async def set_identity_status(
    session: AsyncSession, channel: str, external_id: str, status: str
) -> None:
    await session.execute(
        sa.update(Identity)
        .where(Identity.channel == channel, Identity.external_id == external_id)
        .values(status=status)
    )


async def set_prefs(session: AsyncSession, person_id: int, **changes: Any) -> dict[str, Any]:
    p = await session.get(Person, person_id)
    assert p is not None
    prefs = dict(p.prefs or {})
    for key, value in changes.items():
        if value is None:
            prefs.pop(key, None)
        else:
            prefs[key] = value
    p.prefs = prefs
    if any("digest" in key for key in changes):
        # the digest job settled when to look at this person by the old hours: look again
        p.morning_next_at = p.evening_next_at = DIGEST_EPOCH
    await session.flush()
    return prefs


async def set_active(session: AsyncSession, person_id: int, active: bool) -> PersonDTO | None:
    p = await session.get(Person, person_id)
    if p is None:
        return None
    p.active = active
    await session.flush()
    return await _dto(session, p)


async def find(session: AsyncSession, id_or_name: str) -> list[PersonDTO]:
    """People matching an id or an exact name (a name may match several), active or not."""
    text = id_or_name.strip()
    if text.isdigit():
        found = await get(session, int(text))
        return [found] if found else []
    ids = await session.scalars(sa.select(Person.id).where(Person.name == text).order_by(Person.id))
    return [p for p in [await get(session, i) for i in ids] if p]


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


async def create_invite(
    session: AsyncSession,
    *,
    role: str,
    region_id: int,
    now: datetime,
    name: str | None = None,
    person_id: int | None = None,
    ttl: timedelta = INVITE_TTL,
) -> InviteDTO:
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    region = await session.get(Region, region_id)
    if region is None:
        raise ValueError(f"unknown region {region_id}")
    level = ROLE_LEVEL[Role(role)]
    if region.level != level:
        raise ValueError(f"role {role} needs a {level}, not a {region.level}")
    invite = Invite(
        code=new_code(),
        role=role,
        region_id=region_id,
        name=name,
        person_id=person_id,
        expires_at=now + ttl,
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return InviteDTO(invite.code, role, region_id, region.name, name, invite.expires_at)


def normalize_code(code: str) -> str:
    return code.strip().upper().replace(" ", "").replace("-", "")


async def bind(
    session: AsyncSession, *, channel: str, external_id: str, code: str, now: datetime
) -> BindResult:
    """Use an invite: create (or reuse) the person and link this channel identity to them."""
    existing = await by_identity(session, channel, external_id)
    if existing is not None:
        return BindResult("already_bound", existing)
    invite = await session.scalar(
        sa.select(Invite).where(Invite.code == normalize_code(code)).with_for_update()
    )
    if invite is None:
        return BindResult("unknown")
    if invite.used_by is not None:
        return BindResult("used")
    if invite.expires_at <= now:
        return BindResult("expired")
    if invite.person_id is not None:
        person = await session.get(Person, invite.person_id)
        assert person is not None
    else:
        person = Person(
            name=invite.name or "未命名",
            role=invite.role,
            region_id=invite.region_id,
            created_at=now,
            prefs={},
        )
        session.add(person)
        await session.flush()
    session.add(
        Identity(
            channel=channel,
            external_id=external_id,
            person_id=person.id,
            created_at=now,
            last_seen_at=now,
        )
    )
    invite.used_by = person.id
    invite.used_at = now
    person.last_channel = channel
    await session.flush()
    return BindResult("ok", await _dto(session, person))


async def id_of(session: AsyncSession, *, name: str, role: str, region_id: int) -> int | None:
    """The first person with exactly this name, role and region (the demo finds its people)."""
    found: int | None = await session.scalar(
        sa.select(Person.id)
        .where(Person.name == name, Person.role == role, Person.region_id == region_id)
        .order_by(Person.id)
        .limit(1)
    )
    return found
