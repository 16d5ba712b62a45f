"""Who a scheduled message (a digest, a nudge) may be due for, and which are queued already.

The clock jobs ask "whose message for today is due and not yet queued?" rather than "is it
07:30?": the people of some roles with their preferences, and which of their outbox keys are
absent. Both are one query per batch, never one per person.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage, Person

KEY_CHUNK = 2000


@dataclass(frozen=True)
class Recipient:
    person_id: int
    region_id: int
    prefs: dict[str, Any] = field(default_factory=dict)


async def active_with_roles(session: AsyncSession, roles: Collection[str]) -> list[Recipient]:
    rows = await session.execute(
        sa.select(Person.id, Person.region_id, Person.prefs)
        .where(Person.role.in_(list(roles)), Person.active)
        .order_by(Person.id)
    )
    return [Recipient(pid, rid, dict(prefs or {})) for pid, rid, prefs in rows]


async def absent_keys(session: AsyncSession, keys: list[str]) -> set[str]:
    """Which of these idempotency keys are not in the outbox yet (in chunks, by its index)."""
    present: set[str] = set()
    for start in range(0, len(keys), KEY_CHUNK):
        chunk = keys[start : start + KEY_CHUNK]
        present.update(
            await session.scalars(
                sa.select(OutboxMessage.idempotency_key).where(
                    OutboxMessage.idempotency_key.in_(chunk)
                )
            )
        )
    return set(keys) - present
