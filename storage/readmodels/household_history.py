"""A household's change history: its audit rows (object ``household:<id>``), newest first,
with the name of who made each change."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Audit, Person

SHOWN = 50


def object_of(household_id: int) -> str:
    return f"household:{household_id}"


@dataclass(frozen=True)
class Change:
    at: datetime
    who: str | None  # None: an operator at the command line
    action: str
    detail: dict[str, Any]


async def changes(session: AsyncSession, household_id: int, limit: int = SHOWN) -> list[Change]:
    rows = await session.execute(
        sa.select(Audit.at, Person.name, Audit.action, Audit.detail)
        .outerjoin(Person, Person.id == Audit.person_id)
        .where(Audit.object == object_of(household_id))
        .order_by(Audit.id.desc())
        .limit(limit)
    )
    return [Change(at, who, action, dict(detail or {})) for at, who, action, detail in rows]


async def count(session: AsyncSession, household_id: int) -> int:
    n = await session.scalar(
        sa.select(sa.func.count()).select_from(Audit).where(Audit.object == object_of(household_id))
    )
    return int(n or 0)
