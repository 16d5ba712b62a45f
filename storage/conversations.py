"""Conversation state for multi-step flows, kept in the database (survives restarts)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Conversation


@dataclass(frozen=True)
class State:
    flow: str
    step: str
    data: dict[str, Any] = field(default_factory=dict)
    updated_at: datetime | None = None


async def get(session: AsyncSession, person_id: int) -> State | None:
    row = await session.get(Conversation, person_id)
    if row is None:
        return None
    return State(row.flow, row.step, dict(row.data or {}), row.updated_at)


async def put(
    session: AsyncSession, person_id: int, flow: str, step: str, data: dict[str, Any], now: datetime
) -> State:
    row = await session.get(Conversation, person_id)
    if row is None:
        row = Conversation(person_id=person_id, flow=flow, step=step, data=data, updated_at=now)
        session.add(row)
    else:
        row.flow, row.step, row.data, row.updated_at = flow, step, dict(data), now
    await session.flush()
    return State(flow, step, dict(data), now)


async def clear(session: AsyncSession, person_id: int) -> bool:
    result = cast(
        "sa.CursorResult[Any]",
        await session.execute(sa.delete(Conversation).where(Conversation.person_id == person_id)),
    )
    return bool(result.rowcount)
