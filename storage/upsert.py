"""INSERT ... ON CONFLICT DO NOTHING for both backends (the basis of every dedup key)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


async def insert_ignore(
    session: AsyncSession, model: Any, values: dict[str, Any], conflict: list[str]
) -> int | None:
    """Insert a row unless one with the same ``conflict`` columns exists; return the new id."""
    stmt = _insert_ignore(session.get_bind().dialect.name, model.__table__, tuple(conflict))
    return (await session.execute(stmt, values)).scalar_one_or_none()


@functools.cache
def _insert_ignore(dialect: str, table: Any, conflict: tuple[str, ...]) -> Any:
    """One Core statement per table, built once; the values come as parameters, so the
    compiled form is cached too. (The ORM's insert machinery, or a fresh ``.values()`` per
    call, costs more CPU than the round trip on this hot path: every inbound message and
    every outbox row.)"""
    module = postgresql if dialect == "postgresql" else sqlite
    return (
        module.insert(table)
        .on_conflict_do_nothing(index_elements=list(conflict))
        .returning(table.c.id)
    )


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
