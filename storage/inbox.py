"""The inbox: every inbound message is written once, keyed by (channel, message id).

A channel's retry of the same message finds the row and does nothing. Handling happens in a
second transaction that claims the row, so a crash after receipt leaves an unhandled row
that :func:`unhandled` finds (the inbound sweep looks every few seconds).
"""

from __future__ import annotations

import zlib
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.db import is_postgresql
from storage.models import InboxMessage
from storage.upsert import insert_ignore

_TABLE = InboxMessage.__table__


def lock_key(channel: str, sender_id: str) -> int:
    """The advisory lock key serializing one sender's messages across processes."""
    return zlib.crc32(f"{channel}:{sender_id}".encode())


def _row(
    *,
    channel: str,
    message_id: str,
    sender_id: str,
    payload: dict[str, Any],
    now: datetime,
    handled_at: datetime | None = None,
    error: str | None = None,
) -> dict[str, Any]:
    return {
        "channel": channel,
        "message_id": message_id,
        "sender_id": sender_id,
        "payload": payload,
        "received_at": now,
        "handled_at": handled_at,
        "error": error[:2000] if error else None,
    }


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
    values = _row(
        channel=channel,
        message_id=message_id,
        sender_id=sender_id,
        payload=payload,
        now=now,
        handled_at=handled_at,
        error=error,
    )
    return await insert_ignore(session, InboxMessage, values, ["channel", "message_id"])


async def record_many(
    session: AsyncSession, rows: list[dict[str, Any]]
) -> dict[tuple[str, str], int]:
    """Store several messages in one statement (``rows`` as the arguments of :func:`record`,
    without ``lock``); returns the new rows' ids by (channel, message id). A message seen
    before, or twice in ``rows``, is stored once."""
    values: dict[tuple[str, str], dict[str, Any]] = {}
    for row in rows:
        values.setdefault((row["channel"], row["message_id"]), _row(**row))
    module = postgresql if is_postgresql(session) else sqlite
    # One statement run for every parameter set (SQLAlchemy's "insertmanyvalues" sends them
    # as multi-row VALUES); RETURNING gives back only the rows that were new.
    stmt = (
        module.insert(_TABLE)
        .on_conflict_do_nothing(index_elements=["channel", "message_id"])
        .returning(_TABLE.c.id, _TABLE.c.channel, _TABLE.c.message_id)
    )
    result = await session.execute(stmt, list(values.values()))
    return {(channel, message_id): row_id for row_id, channel, message_id in result}


async def claim(session: AsyncSession, inbox_id: int, now: datetime) -> bool:
    """Mark the row handled, in the handler's transaction: exactly one claimer wins."""
    result = await session.execute(
        sa.update(InboxMessage)
        .where(InboxMessage.id == inbox_id, InboxMessage.handled_at.is_(None))
        .values(handled_at=now)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def mark_failed(session: AsyncSession, inbox_id: int, error: str, now: datetime) -> None:
    await session.execute(
        sa.update(InboxMessage)
        .where(InboxMessage.id == inbox_id)
        .values(handled_at=now, error=error[:2000])
    )


UNHANDLED_BATCH = 100


async def unhandled(
    session: AsyncSession, older_than: datetime, limit: int = UNHANDLED_BATCH, after_id: int = 0
) -> list[InboxMessage]:
    """Unhandled rows received before ``older_than``, oldest first, with ids above
    ``after_id`` (to page on past rows that another worker holds)."""
    rows = await session.scalars(
        sa.select(InboxMessage)
        .where(
            InboxMessage.handled_at.is_(None),
            InboxMessage.received_at <= older_than,
            InboxMessage.id > after_id,
        )
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


async def recent_payloads(
    session: AsyncSession, channel: str, sender_id: str, since: datetime, limit: int
) -> list[dict[str, Any]]:
    """The stored messages (``Incoming.to_dict()``) of one sender received since ``since``,
    newest first, at most ``limit``."""
    rows = await session.scalars(
        sa.select(InboxMessage.payload)
        .where(
            InboxMessage.channel == channel,
            InboxMessage.sender_id == sender_id,
            InboxMessage.received_at >= since,
        )
        .order_by(InboxMessage.id.desc())
        .limit(limit)
    )
    return [p or {} for p in rows]


async def recent_location(
    session: AsyncSession, channel: str, sender_id: str, since: datetime, scan: int = 30
) -> tuple[float, float] | None:
    """The last location this sender shared since ``since`` (among their last ``scan``
    messages): a visit reported soon after a location outside any flow takes it."""
    for p in await recent_payloads(session, channel, sender_id, since, scan):
        if p.get("kind") == "location" and p.get("lat") is not None:
            return float(p["lat"]), float(p["lon"])
    return None
