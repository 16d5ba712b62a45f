"""The inbox: every inbound message is written once, keyed by (channel, message id).

A channel's retry of the same message finds the row and does nothing. Handling happens in a
second transaction that claims the row, so a crash after receipt leaves an unhandled row
that :func:`unhandled` finds at start-up.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import InboxMessage
from storage.upsert import insert_ignore


async def record(
    session: AsyncSession,
    *,
    channel: str,
    message_id: str,
    sender_id: str,
    payload: dict[str, Any],
    now: datetime,
    handled_at: datetime | None = None,
    error: str | None = None,
) -> int | None:
    """Store the message; ``None`` when this (channel, message id) was seen before. Pass
    ``handled_at`` when it is handled in the same transaction."""
    return await insert_ignore(
        session,
        InboxMessage,
        {
            "channel": channel,
            "message_id": message_id,
            "sender_id": sender_id,
            "payload": payload,
            "received_at": now,
            "handled_at": handled_at,
            "error": error[:2000] if error else None,
        },
        ["channel", "message_id"],
    )


async def claim(session: AsyncSession, inbox_id: int, now: datetime) -> bool:
    """Mark the row handled, in the handler's transaction: exactly one claimer wins."""
    result = await session.execute(
        sa.update(InboxMessage)
        .where(InboxMessage.id == inbox_id, InboxMessage.handled_at.is_(None))
        .values(handled_at=now)
    )
    return result.rowcount == 1


async def mark_failed(session: AsyncSession, inbox_id: int, error: str, now: datetime) -> None:
    await session.execute(
        sa.update(InboxMessage)
        .where(InboxMessage.id == inbox_id)
        .values(handled_at=now, error=error[:2000])
    )


async def unhandled(
    session: AsyncSession, older_than: datetime, limit: int = 100
) -> list[InboxMessage]:
    rows = await session.scalars(
        sa.select(InboxMessage)
        .where(InboxMessage.handled_at.is_(None), InboxMessage.received_at <= older_than)
        .order_by(InboxMessage.id)
        .limit(limit)
    )
    return list(rows)


async def count(session: AsyncSession, channel: str | None = None) -> int:
    query = sa.select(sa.func.count()).select_from(InboxMessage)
    if channel:
        query = query.where(InboxMessage.channel == channel)
    return int(await session.scalar(query) or 0)


STALE_AFTER = timedelta(minutes=1)
