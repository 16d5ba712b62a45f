"""INSERT ... ON CONFLICT DO NOTHING for both backends (the basis of every dedup key)."""

from __future__ import annotations

from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(
    session: AsyncSession, model: Any, values: dict[str, Any], conflict: list[str]
) -> int | None:
    """Insert a row unless one with the same ``conflict`` columns exists; return the new id."""
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # A Core insert on the table: the ORM's bulk-insert machinery costs more CPU than the
    # round trip on this hot path (every inbound message and every outbox row).
    table = model.__table__
    stmt = (
        module.insert(table)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(table.c.id)
    )
    return (await session.execute(stmt)).scalar_one_or_none()


async def insert_many_ignore(
    session: AsyncSession, model: Any, rows: list[dict[str, Any]], conflict: list[str]
) -> int:
    """Bulk form of :func:`insert_ignore`; returns how many rows were new."""
    if not rows:
        return 0
    dialect = session.get_bind().dialect.name
    module = postgresql if dialect == "postgresql" else sqlite
    # One statement compiled once and run for many parameter sets ("insertmanyvalues"): a
    # multi-row VALUES literal costs seconds to compile at thousands of rows. RETURNING
    # gives back only the rows that were new, which is the count we want.
    table = model.__table__
    stmt = (
        module.insert(table).on_conflict_do_nothing(index_elements=conflict).returning(table.c.id)
    )
    result = await session.execute(stmt, rows)
    return len(result.all())
