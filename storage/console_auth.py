"""Console sign-in: one-time links and browser sessions. Only SHA-256 hashes of the link and
cookie tokens are stored; the tokens themselves exist in the chat message and the browser.

A link is spent by one conditional UPDATE (``used_at IS NULL AND expires_at > now``), so two
browsers opening it at once cannot both get in.
"""

from __future__ import annotations

import hashlib
import secrets
import string
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ConsoleLink, ConsoleSession

MAX_TOKEN = 200
# Letters only: the link travels in a chat message, and every reply is passed through the
# phone and ID number masking (core.privacy), which must never find a number in it.
_LINK_ALPHABET = string.ascii_letters
_LINK_LENGTH = 43  # about 245 bits
LinkState = Literal["ok", "unknown", "used", "expired"]


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class LinkDTO:
    person_id: int
    expires_at: datetime
    used_at: datetime | None


@dataclass(frozen=True)
class SessionDTO:
    id: int
    person_id: int
    csrf_token: str
    expires_at: datetime


async def create_link(
    session: AsyncSession, person_id: int, now: datetime, expires_at: datetime
) -> str:
    token = "".join(secrets.choice(_LINK_ALPHABET) for _ in range(_LINK_LENGTH))
    session.add(
        ConsoleLink(
            token_sha256=digest(token), person_id=person_id, created_at=now, expires_at=expires_at
        )
    )
    await session.flush()
    return token


async def find_link(session: AsyncSession, token: str) -> LinkDTO | None:
    if not token or len(token) > MAX_TOKEN:
        return None
    row = (
        await session.execute(
            sa.select(ConsoleLink.person_id, ConsoleLink.expires_at, ConsoleLink.used_at).where(
                ConsoleLink.token_sha256 == digest(token)
            )
        )
    ).first()
    return LinkDTO(row[0], row[1], row[2]) if row else None


async def spend_link(session: AsyncSession, token: str, now: datetime) -> bool:
    """Mark an unused, unexpired link used; ``False`` when it was not (any more)."""
    result = cast(
        "sa.CursorResult[Any]",
        await session.execute(
            sa.update(ConsoleLink)
            .where(
                ConsoleLink.token_sha256 == digest(token),
                ConsoleLink.used_at.is_(None),
                ConsoleLink.expires_at > now,
            )
            .values(used_at=now)
        ),
    )
    return (result.rowcount or 0) == 1


async def create_session(
    session: AsyncSession, person_id: int, now: datetime, expires_at: datetime
) -> tuple[str, SessionDTO]:
    """A new session: (cookie token, the session)."""
    token = secrets.token_urlsafe(32)
    row = ConsoleSession(
        token_sha256=digest(token),
        person_id=person_id,
        csrf_token=secrets.token_urlsafe(24),
        created_at=now,
        expires_at=expires_at,
    )
    session.add(row)
    await session.flush()
    return token, SessionDTO(row.id, person_id, row.csrf_token, expires_at)


async def live_session(session: AsyncSession, token: str, now: datetime) -> SessionDTO | None:
    """The unrevoked, unexpired session a cookie token names."""
    if not token or len(token) > MAX_TOKEN:
        return None
    row = (
        await session.execute(
            sa.select(
                ConsoleSession.id,
                ConsoleSession.person_id,
                ConsoleSession.csrf_token,
                ConsoleSession.expires_at,
            ).where(
                ConsoleSession.token_sha256 == digest(token),
                ConsoleSession.revoked_at.is_(None),
                ConsoleSession.expires_at > now,
            )
        )
    ).first()
    return SessionDTO(row[0], row[1], row[2], row[3]) if row else None


async def revoke_session(session: AsyncSession, session_id: int, now: datetime) -> None:
    await session.execute(
        sa.update(ConsoleSession)
        .where(ConsoleSession.id == session_id, ConsoleSession.revoked_at.is_(None))
        .values(revoked_at=now)
    )
