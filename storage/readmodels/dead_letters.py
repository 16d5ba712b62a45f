"""Dead letters (死信): outbox rows that will not be delivered, for the people of one region.

A row is dead when it failed too often and undeliverable when its recipient has no usable
channel identity. Staff see those of everyone whose region lies within theirs (the region
itself, its townships and its villages): the 死信 command lists them, the evening digest
counts them per person. Both go through :func:`_within`, so the scope is defined once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.privacy import mask_pii
from core.statuses import OutboxStatus
from storage.models import OutboxMessage, Person, Region

DEAD = (OutboxStatus.DEAD, OutboxStatus.UNDELIVERABLE)
LIST_LIMIT = 50


@dataclass(frozen=True)
class DeadLetter:
    id: int
    recipient: str  # the person's name
    status: str  # an OutboxStatus in DEAD
    error: str | None
    created_at: datetime
    first_words: str = ""  # the start of the message's text (masked by whoever shows it)


@dataclass(frozen=True)
class DeadLetterCount:
    recipient: str
    status: str
    count: int


def _within(region_id: int) -> sa.ColumnElement[bool]:
    """Outbox rows whose recipient's region is ``region_id`` or lies below it (the tree is
    three deep, so two parent hops reach the county)."""
    own = aliased(Region)
    parent = aliased(Region)
    recipients = (
        sa.select(Person.id)
        .join(own, own.id == Person.region_id)
        .outerjoin(parent, parent.id == own.parent_id)
        .where(
            sa.or_(
                own.id == region_id,
                own.parent_id == region_id,
                parent.parent_id == region_id,
            )
        )
    )
    return OutboxMessage.recipient_id.in_(recipients)


async def dead_letters(
    session: AsyncSession, region_id: int, limit: int = LIST_LIMIT
) -> list[DeadLetter]:
    """The newest dead or undeliverable rows of the region's people."""
    rows = await session.execute(
        sa.select(
            OutboxMessage.id,
            Person.name,
            OutboxMessage.status,
            OutboxMessage.last_error,
            OutboxMessage.created_at,
            OutboxMessage.body,
        )
        .join(Person, Person.id == OutboxMessage.recipient_id)
        .where(OutboxMessage.status.in_(DEAD), _within(region_id))
        .order_by(OutboxMessage.id.desc())
        .limit(limit)
    )
    return [
        DeadLetter(oid, name, status, error, created, first_words=_first_words(body))
        for oid, name, status, error, created, body in rows
    ]


def _first_words(body: object, n: int = 16) -> str:
    """The first ``n`` characters of an outbox body's text, on one line, phone and ID numbers
    masked before the cut (so no part of one shows)."""
    text = body.get("text", "") if isinstance(body, dict) else ""
    one_line = mask_pii(" ".join(str(text or "").split()))
    return one_line[:n] + ("…" if len(one_line) > n else "")


async def dead_letter_counts(
    session: AsyncSession, region_id: int, since: datetime
) -> list[DeadLetterCount]:
    """Per person and status, how many rows created since ``since`` went dead (most first)."""
    rows = await session.execute(
        sa.select(Person.name, OutboxMessage.status, sa.func.count())
        .join(Person, Person.id == OutboxMessage.recipient_id)
        .where(
            OutboxMessage.status.in_(DEAD),
            OutboxMessage.created_at >= since,
            _within(region_id),
        )
        .group_by(Person.name, OutboxMessage.status)
        .order_by(sa.func.count().desc(), Person.name)
    )
    return [DeadLetterCount(name, status, int(n)) for name, status, n in rows]
