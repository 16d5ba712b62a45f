"""Public numbers handed out per county and series (core.numbers), without gaps.

One statement moves the counter and returns the new value: ``INSERT ... ON CONFLICT DO
UPDATE SET value = value + 1 RETURNING value`` (the same SQL on PostgreSQL and SQLite). It
runs in the transaction that writes the numbered row, so:

- PostgreSQL: the counter row stays locked until that transaction ends; a concurrent
  allocation waits and then sees the committed value (two allocations never share a number);
- SQLite: writers are serialized already (BEGIN IMMEDIATE);
- a rolled-back transaction rolls its number back too: no gaps.

The unique constraints on the numbered tables (county, number) back this up.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import Series
from storage.models import Counter

_NEXT = sa.text(
    "INSERT INTO counters (county_id, kind, value) VALUES (:county_id, :kind, 1) "
    "ON CONFLICT (county_id, kind) DO UPDATE SET value = counters.value + 1 "
    "RETURNING value"
).columns(sa.column("value", sa.Integer))


async def next_number(session: AsyncSession, county_id: int, series: Series) -> int:
    """The county's next number in ``series`` (1 for its first)."""
    value = await session.scalar(_NEXT, {"county_id": county_id, "kind": series.value})
    assert value is not None
    return int(value)


async def last_number(session: AsyncSession, county_id: int, series: Series) -> int:
    """The last number given out (0 when none was)."""
    value = await session.scalar(
        sa.select(Counter.value).where(Counter.county_id == county_id, Counter.kind == series)
    )
    return int(value or 0)
