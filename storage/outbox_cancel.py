"""Outbox rows about one assignment that stop mattering: reminders cancelled when the work is
finished or withdrawn, and pushes marked acknowledged when the village taps 收到.

Keys come from ``core.keys`` (``reminder_prefix``, ``acknowledged_by``), the one owner of the
formats; this module only turns them into statements.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core import keys
from core.statuses import OutboxStatus
from storage import outbox
from storage.models import OutboxMessage

_CHUNK = 500


async def cancel_reminders(session: AsyncSession, assignment_ids: Sequence[int]) -> int:
    """Drop the pending reminders of finished or withdrawn assignments (by key prefix, many
    prefixes per statement: a withdrawn 1,000-village task is one pass over the pending rows,
    not a thousand)."""
    if len(assignment_ids) == 1:
        return await outbox.cancel(session, keys.reminder_prefix(assignment_ids[0]))
    total = 0
    for start in range(0, len(assignment_ids), _CHUNK):
        chunk = assignment_ids[start : start + _CHUNK]
        result = await session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                sa.or_(
                    *(
                        OutboxMessage.idempotency_key.startswith(
                            keys.reminder_prefix(a), autoescape=True
                        )
                        for a in chunk
                    )
                ),
            )
            .values(status=OutboxStatus.CANCELLED)
        )
        total += result.rowcount or 0  # type: ignore[attr-defined]
    return total


async def mark_acked(
    session: AsyncSession, assignment_id: int, person_id: int, now: datetime
) -> None:
    """Receipt: the pushes about this assignment to this person were acknowledged (收到)."""
    ack = keys.acknowledged_by(assignment_id)
    await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == person_id,  # indexed; keeps this off a full scan
            sa.or_(
                OutboxMessage.idempotency_key == ack.exact,
                *(
                    OutboxMessage.idempotency_key.startswith(p, autoescape=True)
                    for p in ack.prefixes
                ),
            ),
            OutboxMessage.acked_at.is_(None),
        )
        .values(acked_at=now)
    )


async def cancel_pushes(session: AsyncSession, assignment_ids: Sequence[int]) -> int:
    """Drop the task pushes (``keys.task_push``) of withdrawn assignments not yet sent."""
    total = 0
    for start in range(0, len(assignment_ids), _CHUNK):
        chunk = [keys.task_push(a) for a in assignment_ids[start : start + _CHUNK]]
        result = await session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == OutboxStatus.PENDING,
                OutboxMessage.idempotency_key.in_(chunk),
            )
            .values(status=OutboxStatus.CANCELLED)
        )
        total += result.rowcount or 0  # type: ignore[attr-defined]
    return total


async def pushed(session: AsyncSession, assignment_ids: Sequence[int]) -> set[int]:
    """The assignments whose task push went out (sent, or being sent right now)."""
    found: set[int] = set()
    for start in range(0, len(assignment_ids), _CHUNK):
        chunk = {keys.task_push(a): a for a in assignment_ids[start : start + _CHUNK]}
        rows = await session.scalars(
            sa.select(OutboxMessage.idempotency_key).where(
                OutboxMessage.idempotency_key.in_(list(chunk)),
                OutboxMessage.status.in_((OutboxStatus.SENT, OutboxStatus.SENDING)),
            )
        )
        found.update(chunk[k] for k in rows)
    return found
