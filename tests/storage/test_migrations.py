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


async def test_task_evidence_moves_from_sha256s_to_photo_ids_and_back(empty_engine):
    """0002 converts a submission's ``evidence["photos"]`` (SHA-256s) to ``photo_ids``; a
    rectification's ids are left alone; downgrade converts back."""
    from datetime import UTC, datetime

    from sqlalchemy.ext.asyncio import AsyncSession

    from storage.models import Assignment, Person, Photo, Region, Task

    now = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)
    await db.upgrade(empty_engine, "0001")
    async with AsyncSession(empty_engine) as s, s.begin():
        county = Region(level="county", name="示范县")
        s.add(county)
        await s.flush()
        village = Region(level="village", name="石门村", parent_id=county.id)
        s.add(village)
        await s.flush()
        person = Person(name="书记", role="secretary", region_id=village.id, created_at=now)
        s.add(person)
        await s.flush()
        # only the columns 0001 has (the model may have more by now)
        added = await s.execute(sa.insert(Photo).values(
            sha256="ab" * 32, path="ab/x.jpg", mime="image/jpeg", size=1, width=1, height=1,
            uploaded_by=person.id, created_at=now,
        ))  # fmt: skip
        ids = {}
        for kind, evidence in (
            ("task", {"texts": ["好"], "photos": ["ab" * 32, "ff" * 32], "history": []}),
            ("rectify", {"photo_ids": [1]}),
        ):
            task = Task(kind=kind, title=kind, created_by=person.id, county_id=county.id,
                        created_at=now)  # fmt: skip
            s.add(task)
            await s.flush()
            row = Assignment(task_id=task.id, village_id=village.id, evidence=evidence,
                             created_at=now, updated_at=now)  # fmt: skip
            s.add(row)
            await s.flush()
            ids[kind] = row.id
        photo_id = added.inserted_primary_key[0]

    async def evidence() -> dict[str, Any]:
        async with AsyncSession(empty_engine) as s:
            rows = await s.execute(sa.select(Assignment.id, Assignment.evidence))
            return {aid: ev for aid, ev in rows}

    await db.upgrade(empty_engine)
    after = await evidence()
    assert after[ids["task"]] == {"texts": ["好"], "photo_ids": [photo_id], "history": []}
    assert after[ids["rectify"]] == {"photo_ids": [1]}
    await db.downgrade(empty_engine, "0001")
    back = await evidence()
    assert back[ids["task"]] == {"texts": ["好"], "photos": ["ab" * 32], "history": []}
    assert back[ids["rectify"]] == {"photo_ids": [1]}
