"""The audit log: every change a person makes is written here, in the same transaction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Audit


async def log(
    session: AsyncSession,
    *,
    at: datetime,
    person_id: int | None,
    action: str,
    obj: str,
    detail: dict[str, Any] | None = None,
) -> None:
    session.add(Audit(at=at, person_id=person_id, action=action, object=obj, detail=detail or {}))


async def entries(session: AsyncSession, obj: str | None = None, limit: int = 100) -> list[Audit]:
    query = sa.select(Audit).order_by(Audit.id.desc()).limit(limit)
    if obj is not None:
        query = query.where(Audit.object == obj)
    return list(await session.scalars(query))
