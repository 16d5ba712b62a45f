"""Stored sentence vectors of FAQ phrasings (services.faq_embed), by key: text hash and model.

Rows are only ever added (a changed phrasing has a new key); a row no phrasing uses any more
costs 800 bytes and is harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import FaqVector

CHUNK = 500  # keys per IN (...) query


async def get_many(session: AsyncSession, keys: Sequence[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        rows = await session.execute(
            sa.select(FaqVector.key, FaqVector.vector).where(FaqVector.key.in_(chunk))
        )
        found.update((k, bytes(v)) for k, v in rows)
    return found


async def stored(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """The keys among ``keys`` that have a stored vector (without reading the vectors)."""
    found: set[str] = set()
    for start in range(0, len(keys), CHUNK):
        chunk = list(keys[start : start + CHUNK])
        found.update(
            await session.scalars(sa.select(FaqVector.key).where(FaqVector.key.in_(chunk)))
        )
    return found


# Rows per INSERT statement (two parameters each; PostgreSQL allows 32,767 per statement).
INSERT_CHUNK = 500


async def add_many(session: AsyncSession, vectors: Mapping[str, bytes]) -> None:
    """Store vectors whose key is not stored yet (two processes may race: no error)."""
    if not vectors:
        return
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    rows = [{"key": k, "vector": v} for k, v in vectors.items()]
    # One multi-row INSERT per chunk, not an executemany: a task cancelled in the middle of
    # asyncpg's executemany (a shutdown during the FAQ build) left its connection half-way
    # through the statement, and the engine's dispose then waited forever.
    for start in range(0, len(rows), INSERT_CHUNK):
        chunk = rows[start : start + INSERT_CHUNK]
        stmt = module.insert(FaqVector).values(chunk)
        await session.execute(stmt.on_conflict_do_nothing(index_elements=["key"]))
