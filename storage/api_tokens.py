"""Bearer tokens for the county staff JSON API. Only the SHA-256 of a token is stored; the
token itself is shown once, when it is made."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people as people_store
from storage.models import ApiToken, Person
from storage.people import PersonDTO

PREFIX = "cb_"


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(session: AsyncSession, person_id: int, now: datetime) -> str:
    token = PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(person_id=person_id, token_sha256=digest(token), created_at=now))
    await session.flush()
    return token


async def revoke_all(session: AsyncSession, person_id: int, now: datetime) -> int:
    result = cast(
        "sa.CursorResult[Any]",
        await session.execute(
            sa.update(ApiToken)
            .where(ApiToken.person_id == person_id, ApiToken.revoked_at.is_(None))
            .values(revoked_at=now)
        ),
    )
    return result.rowcount or 0


async def person_for(session: AsyncSession, token: str) -> PersonDTO | None:
    """The active person a live token belongs to, or ``None``."""
    if not token or len(token) > 200:
        return None
    person_id = await session.scalar(
        sa.select(ApiToken.person_id)
        .join(Person, Person.id == ApiToken.person_id)
        .where(
            ApiToken.token_sha256 == digest(token),
            ApiToken.revoked_at.is_(None),
            Person.active,
        )
    )
    return await people_store.get(session, person_id) if person_id else None
