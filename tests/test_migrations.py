"""Migrations build the same schema as the models, and go up, down and up again."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage import db
from storage.models import Base


@pytest.fixture
async def empty_engine(database_url: str, backend: str):
    eng = db.make_engine(database_url)
    if backend == "postgresql":  # the shared fixture database may hold create_all tables
        async with eng.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
    yield eng
    if backend == "postgresql":
        async with eng.begin() as conn:
            await conn.execute(sa.text("DROP SCHEMA public CASCADE"))
            await conn.execute(sa.text("CREATE SCHEMA public"))
        from tests import conftest

        conftest._schema_ready.discard(database_url)
    await eng.dispose()


async def _diff(engine: Any) -> list[Any]:
    def go(conn: Any) -> list[Any]:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        return compare_metadata(ctx, Base.metadata)

    async with engine.connect() as conn:
        return await conn.run_sync(go)


async def _tables(engine: Any) -> set[str]:
    async with engine.connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_upgrade_from_empty_matches_models(empty_engine):
    await db.upgrade(empty_engine)
    assert await _diff(empty_engine) == []
    assert set(Base.metadata.tables) <= await _tables(empty_engine)


async def test_stairway_up_down_up(empty_engine):
    await db.upgrade(empty_engine)
    await db.downgrade(empty_engine, "base")
    assert await _tables(empty_engine) <= {"alembic_version"}
    await db.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        assert await db.current_revision(conn) is not None
    assert await _diff(empty_engine) == []
