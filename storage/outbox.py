"""The outbox: every push to a person is a row with a unique idempotency key.

Keys name the effect, e.g. ``remind:{assignment}:{offset}`` or ``digest:{kind}:{person}:{date}``,
so running a job twice, or in two processes, enqueues nothing twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.upsert import insert_ignore, insert_many_ignore

PRIORITY_REPLY = 0
PRIORITY_BULK = 1


@dataclass(frozen=True)
class OutboxItem:
    id: int
    recipient_id: int
    channel: str | None
    body: dict[str, Any]
    idempotency_key: str
    priority: int
    attempts: int
    not_before: datetime
    created_at: datetime | None = None


def _item(row: OutboxMessage) -> OutboxItem:
    return OutboxItem(
        row.id,
        row.recipient_id,
        row.channel,
        dict(row.body),
        row.idempotency_key,
        row.priority,
        row.attempts,
        row.not_before,
        row.created_at,
    )


async def enqueue(
    session: AsyncSession,
    *,
    recipient_id: int,
    body: dict[str, Any],
    key: str,
    now: datetime,
    not_before: datetime | None = None,
    priority: int = PRIORITY_BULK,
    channel: str | None = None,
) -> int | None:
    """Queue a push; ``None`` when the key was already queued (the effect already exists)."""
    return await insert_ignore(
        session,
        OutboxMessage,
        {
            "recipient_id": recipient_id,
            "channel": channel,
            "body": body,
            "idempotency_key": key,
            "priority": priority,
            "not_before": not_before or now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
        },
        ["idempotency_key"],
    )


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> int:
    """Bulk enqueue; each row needs recipient_id, body, idempotency_key (and may set others)."""
    full = [
        {
            "channel": None,
            "priority": PRIORITY_BULK,
            "not_before": now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            **row,
        }
        for row in rows
    ]
    total = 0
    for start in range(0, len(full), 1000):
        total += await insert_many_ignore(
            session, OutboxMessage, full[start : start + 1000], ["idempotency_key"]
        )
    return total


async def cancel(session: AsyncSession, key_prefix: str) -> int:
    """Cancel pending rows whose key starts with ``key_prefix`` (e.g. a finished task's reminders)."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key.startswith(key_prefix, autoescape=True),
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled")
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int = 100,
    lease: timedelta = timedelta(seconds=30),
) -> list[OutboxItem]:
    """Claim rows that are due (replies first). On PostgreSQL rows locked by another worker are
    skipped (FOR UPDATE SKIP LOCKED); SQLite has one writer at a time, so the lock is implicit.
    A row claimed by a worker that died is claimable again after ``lease`` (a live worker
    keeps extending it: :func:`extend_lease`)."""
    due = sa.or_(
        OutboxMessage.status == "pending",
        sa.and_(OutboxMessage.status == "sending", OutboxMessage.claimed_at < now - lease),
    )
    query = (
        sa.select(OutboxMessage)
        .where(due, OutboxMessage.not_before <= now)
        .order_by(OutboxMessage.priority, OutboxMessage.not_before, OutboxMessage.id)
        .limit(limit)
    )
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(skip_locked=True)
    rows = list(await session.scalars(query))
    for row in rows:
        row.status = "sending"
        row.claimed_at = now
        row.claimed_by = worker
        row.attempts += 1
    await session.flush()
    return [_item(r) for r in rows]


async def extend_lease(
    session: AsyncSession, outbox_ids: list[int], worker: str, now: datetime
) -> int:
    """The heartbeat of a live worker: its rows still in ``sending`` stay leased to it."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.id.in_(outbox_ids),
            OutboxMessage.status == "sending",
            OutboxMessage.claimed_by == worker,
        )
        .values(claimed_at=now)
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def mark_sent(
    session: AsyncSession,
    outbox_ids: list[int],
    now: datetime,
    channel: str,
    delivered: bool = False,
) -> None:
    """Rows sent through ``channel``; ``delivered`` when the person saw them at once."""
    values: dict[str, Any] = {
        "status": "sent",
        "sent_at": now,
        "channel": channel,
        "last_error": None,
    }
    if delivered:
        values["delivered_at"] = now
    await session.execute(
        sa.update(OutboxMessage).where(OutboxMessage.id.in_(outbox_ids)).values(**values)
    )


async def mark_sent_if_pending(
    session: AsyncSession, outbox_id: int, now: datetime, channel: str
) -> bool:
    """Mark a row sent that nobody claimed (a reply's fast path, right after sending it);
    ``False`` when a delivery worker took it meanwhile."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending")
        .values(status="sent", sent_at=now, channel=channel, last_error=None)
    )
    return cast(CursorResult[Any], result).rowcount == 1


async def defer(session: AsyncSession, outbox_id: int, until: datetime, error: str) -> None:
    """Back to pending without spending the attempt (held by a rate limit or a channel that
    is down)."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(
            status="pending",
            not_before=until,
            attempts=OutboxMessage.attempts - 1,
            last_error=error[:2000] or None,
        )
    )


async def mark_retry(session: AsyncSession, outbox_id: int, error: str, retry_at: datetime) -> None:
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status="pending", not_before=retry_at, last_error=error[:2000])
    )


async def mark_final(session: AsyncSession, outbox_id: int, status: str, error: str) -> None:
    """``dead`` (gave up after retries) or ``undeliverable`` (no channel can reach the person)."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=status, last_error=error[:2000])
    )


async def get(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, outbox_id)
