"""The task-like pushes a person got lately, newest first: what a typed 收到 may answer
(handlers/intent.py through services.free_text). Only rows that went out count: a push still
waiting in the outbox was never read."""

from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.statuses import OutboxStatus
from storage.models import OutboxMessage


async def newest_sent(
    session: AsyncSession, person_id: int, since: datetime
) -> tuple[str, bool] | None:
    """(key, acknowledged) of the newest task-like push (``keys.ACKABLE_PREFIXES``) sent to
    the person since ``since``; ``keys.acknowledges`` tells whether a 收到 answers it."""
    row = await session.execute(
        sa.select(OutboxMessage.idempotency_key, OutboxMessage.acked_at)
        .where(
            OutboxMessage.recipient_id == person_id,  # indexed
            OutboxMessage.status == OutboxStatus.SENT,
            OutboxMessage.sent_at >= since,
            sa.or_(
                *(
                    OutboxMessage.idempotency_key.startswith(p, autoescape=True)
                    for p in keys.ACKABLE_PREFIXES
                )
            ),
        )
        .order_by(OutboxMessage.sent_at.desc(), OutboxMessage.id.desc())
        .limit(1)
    )
    found = row.first()
    return (found[0], found[1] is not None) if found else None
