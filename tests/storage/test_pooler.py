"""Engines made for a transaction-mode pooler (PgBouncer): nothing prepared outlives a
transaction. On PostgreSQL directly and, with CUNBOT_TEST_PGBOUNCER=1, through PgBouncer."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from storage import db
from storage.models import Person

PREPARED = sa.text("SELECT name FROM pg_prepared_statements ORDER BY name")


async def _work_then_prepared(engine) -> list[str]:
    """Run the kinds of statement the app runs, then list the server session's prepared
    statements, all in one transaction (so on one server connection, pooler or not)."""
    async with engine.begin() as conn:
        await conn.execute(sa.select(Person.id).where(Person.id == 1))
        await conn.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": 42})
        await conn.execute(sa.text("SELECT CAST(:a AS integer) + 1"), {"a": 1})
        return list((await conn.execute(PREPARED)).scalars())


async def test_an_engine_for_a_pooler_leaves_no_prepared_statement_on_the_server(
    engine, database_url, backend
):
    if backend != "postgresql":
        pytest.skip("prepared statements on the server are PostgreSQL's")
    behind = db.make_engine(database_url, pool_size=2, pooler=True)
    try:
        assert await _work_then_prepared(behind) == []
        assert await _work_then_prepared(behind) == []
    finally:
        await behind.dispose()


async def test_an_ordinary_engine_keeps_its_statements_prepared_on_the_server(
    engine, database_url, backend, pooler
):
    if backend != "postgresql" or pooler:
        # Through PgBouncer, statements left prepared on a shared server connection are the
        # very clash the setting prevents; they would break the tests that follow.
        pytest.skip("PostgreSQL reached directly only")
    direct = db.make_engine(database_url, pool_size=1)
    try:
        names = await _work_then_prepared(direct)
    finally:
        await direct.dispose()
    assert len(names) >= 3
    assert all(name.startswith("__asyncpg_") for name in names)


async def test_a_streamed_query_with_queries_between_its_chunks_returns_every_row_in_order(
    engine, database_url, backend
):
    """The ledger export's pattern: a server-side cursor read in chunks, another query on the
    same connection after each chunk (each one replaces the unnamed statement)."""
    if backend != "postgresql":
        pytest.skip("server-side cursors are PostgreSQL's")
    behind = db.make_engine(database_url, pool_size=2, pooler=True)
    rows: list[int] = []
    doubled: list[int] = []
    try:
        async with behind.connect() as conn:
            query = sa.text("SELECT n FROM generate_series(1, 250) AS n ORDER BY n")
            result = await conn.stream(query.execution_options(yield_per=7))
            async for part in result.partitions(7):
                rows += [row[0] for row in part]
                between = sa.text("SELECT CAST(:n AS integer) * 2")
                doubled.append((await conn.execute(between, {"n": part[-1][0]})).scalar_one())
    finally:
        await behind.dispose()
    assert rows == list(range(1, 251))
    assert doubled == [2 * n for n in range(7, 250, 7)] + [500]
