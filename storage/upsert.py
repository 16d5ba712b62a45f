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
    stmt = (
        module.insert(model)
        .values(**values)
        .on_conflict_do_nothing(index_elements=conflict)
        .returning(model.id)
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
    stmt = module.insert(model).on_conflict_do_nothing(index_elements=conflict).returning(model.id)
    result = await session.execute(stmt, rows)
    return len(result.all())
