"""Migrations build the same schema as the models, and go up, down and up again."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncSession

from storage import db
from storage.models import Base


@pytest.fixture
async def empty_engine(database_url: str, backend: str, pooler: bool):
    eng = db.make_engine(database_url, pooler=pooler)
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


def _table(name: str, *columns: str) -> sa.TableClause:
    """A table as an old revision had it: only the columns named (the models may have more)."""
    return sa.table(name, *(sa.column(c) for c in columns))


REGIONS = _table("regions", "id", "parent_id", "level", "name")
PEOPLE = _table("people", "id", "name", "role", "region_id", "prefs", "active", "created_at")
TASKS = _table(
    "tasks", "id", "kind", "title", "body", "created_by", "county_id", "reminder_offsets",
    "evidence_required", "scope", "status", "created_at",
)  # fmt: skip
ASSIGNMENTS = _table(
    "assignments", "id", "task_id", "village_id", "status", "evidence", "created_at", "updated_at"
)
PHOTOS = _table(
    "photos", "id", "sha256", "path", "mime", "size", "width", "height", "uploaded_by",
    "created_at",
)  # fmt: skip
NOW = datetime(2026, 11, 10, 2, 0)  # noqa: DTZ001 - naive UTC, as the columns store it


async def _insert(conn: Any, table: sa.TableClause, **values: Any) -> int:
    values = {k: (json.dumps(v) if isinstance(v, dict | list) else v) for k, v in values.items()}
    result = await conn.execute(table.insert().values(**values).returning(table.c.id))
    return int(result.scalar_one())


async def _old_world(conn: Any) -> dict[str, int]:
    """A county with two townships' villages and a person, written with plain SQL."""
    ids = {"county": await _insert(conn, REGIONS, level="county", name="示范县")}
    ids["town"] = await _insert(conn, REGIONS, level="township", name="东岭镇",
                                parent_id=ids["county"])  # fmt: skip
    ids["village"] = await _insert(conn, REGIONS, level="village", name="石门村",
                                   parent_id=ids["town"])  # fmt: skip
    ids["person"] = await _insert(conn, PEOPLE, name="书记", role="secretary",
                                  region_id=ids["village"], prefs={}, active=True,
                                  created_at=NOW)  # fmt: skip
    return ids


async def _task(conn: Any, ids: dict[str, int], kind: str, county: str = "county") -> int:
    return await _insert(
        conn, TASKS, kind=kind, title=kind, body="", created_by=ids["person"],
        county_id=ids[county], reminder_offsets=[], evidence_required=False, scope={},
        status="active", created_at=NOW,
    )  # fmt: skip


async def test_task_evidence_moves_from_sha256s_to_photo_ids_and_back(empty_engine):
    """0002 converts a submission's ``evidence["photos"]`` (SHA-256s) to ``photo_ids``; a
    rectification's ids are left alone; downgrade converts back."""
    await db.upgrade(empty_engine, "0001")
    async with empty_engine.begin() as conn:
        world = await _old_world(conn)
        photo_id = await _insert(
            conn, PHOTOS, sha256="ab" * 32, path="ab/x.jpg", mime="image/jpeg", size=1,
            width=1, height=1, uploaded_by=world["person"], created_at=NOW,
        )  # fmt: skip
        ids = {}
        for kind, evidence in (
            ("task", {"texts": ["好"], "photos": ["ab" * 32, "ff" * 32], "history": []}),
            ("rectify", {"photo_ids": [1]}),
        ):
            task_id = await _task(conn, world, kind)
            ids[kind] = await _insert(
                conn, ASSIGNMENTS, task_id=task_id, village_id=world["village"],
                status="pending", evidence=evidence, created_at=NOW, updated_at=NOW,
            )  # fmt: skip

    async def evidence() -> dict[int, Any]:
        async with empty_engine.connect() as conn:
            rows = await conn.execute(sa.select(ASSIGNMENTS.c.id, ASSIGNMENTS.c.evidence))
            return {aid: ev if isinstance(ev, dict) else json.loads(ev) for aid, ev in rows}

    await db.upgrade(empty_engine, "0003")
    after = await evidence()
    assert after[ids["task"]] == {"texts": ["好"], "photo_ids": [photo_id], "history": []}
    assert after[ids["rectify"]] == {"photo_ids": [1]}
    await db.downgrade(empty_engine, "0001")
    back = await evidence()
    assert back[ids["task"]] == {"texts": ["好"], "photos": ["ab" * 32], "history": []}
    assert back[ids["rectify"]] == {"photo_ids": [1]}


HOUSEHOLDS = _table(
    "households", "id", "code", "village_id", "head_name", "category", "members", "active",
    "created_at", "updated_at",
)  # fmt: skip
PROBLEMS = _table(
    "problems", "id", "household_id", "village_id", "kind", "description", "status",
    "assignment_id", "found_at",
)  # fmt: skip
QUESTIONS = _table("questions", "id", "asked_by", "county_id", "text", "status", "created_at")


async def _numbers(conn: Any, table: str) -> dict[int, int | None]:
    rows = await conn.execute(sa.text(f"SELECT id, number FROM {table}"))
    return {rid: number for rid, number in rows}


async def test_existing_rows_get_public_numbers_per_county_in_id_order(empty_engine):
    """0004 numbers what exists: tasks and notices in one series per county, a problem and its
    rectification task with one number, only questions that were handed to staff; the
    counters continue from there, and the revision goes down and up again."""
    from core.numbers import Series
    from storage import counters

    await db.upgrade(empty_engine, "0003")
    async with empty_engine.begin() as conn:
        a = await _old_world(conn)
        b_county = await _insert(conn, REGIONS, level="county", name="邻县")
        a["b"] = b_county
        hh = await _insert(
            conn, HOUSEHOLDS, code="HH1", village_id=a["village"], head_name="王三女",
            category="监测户", members=1, active=True, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        t1 = await _task(conn, a, "task")
        other = await _task(conn, a, "task", county="b")
        n2 = await _task(conn, a, "notice")
        rectify = await _task(conn, a, "rectify")
        item = await _insert(
            conn, ASSIGNMENTS, task_id=rectify, village_id=a["village"], status="pending",
            evidence={}, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        t3 = await _task(conn, a, "task")
        problems = [
            await _insert(
                conn,
                PROBLEMS,
                household_id=hh,
                village_id=a["village"],
                kind=kind,
                description=kind,
                status="open",
                assignment_id=assignment,
                found_at=NOW,
            )  # fmt: skip
            for kind, assignment in (("饮水", None), ("住房", item))
        ]
        questions = [
            await _insert(
                conn,
                QUESTIONS,
                asked_by=a["person"],
                county_id=county,
                text=status,
                status=status,
                created_at=NOW,
            )  # fmt: skip
            for county, status in (
                (a["county"], "answered"),
                (a["county"], "pending"),
                (a["county"], "suggested"),
                (b_county, "pending"),
                (a["county"], "staff_answered"),
                (None, "pending"),
            )
        ]

    await db.upgrade(empty_engine, "0004")
    async with empty_engine.connect() as conn:
        tasks = await _numbers(conn, "tasks")
        assert [tasks[t] for t in (t1, n2, t3, other)] == [1, 2, 3, 1]
        assert await _numbers(conn, "problems") == {problems[0]: 1, problems[1]: 2}
        assert tasks[rectify] == 2  # the rectification item IS problem 2
        numbered = await _numbers(conn, "questions")
        assert [numbered[q] for q in questions] == [None, 1, None, 1, 2, None]
    async with AsyncSession(empty_engine) as s, s.begin():
        assert await counters.next_number(s, a["county"], Series.TASK) == 4
        assert await counters.next_number(s, a["county"], Series.PROBLEM) == 3
        assert await counters.next_number(s, a["county"], Series.QUESTION) == 3
        assert await counters.next_number(s, b_county, Series.QUESTION) == 2
        assert await counters.next_number(s, b_county, Series.PROBLEM) == 1
    await db.downgrade(empty_engine, "0003")
    async with empty_engine.connect() as conn:
        columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("tasks"))
    assert "number" not in {c["name"] for c in columns}
    await db.upgrade(empty_engine)
    assert await _diff(empty_engine) == []


VISITS = _table(
    "visits", "id", "household_id", "village_id", "visitor_id", "visited_at", "month", "day",
    "checklist", "status", "created_at", "updated_at",
)  # fmt: skip


async def test_visit_summaries_are_backfilled_from_the_visits(empty_engine):
    """0014 sums the active visits per household and month (visits, distinct days) and keeps
    each household's latest active visit; revoked visits count nowhere; it goes down and up."""
    from datetime import timedelta

    await db.upgrade(empty_engine, "0008")
    async with empty_engine.begin() as conn:
        a = await _old_world(conn)
        hh = {}
        for code in ("H1", "H2", "H3"):
            hh[code] = await _insert(
                conn, HOUSEHOLDS, code=code, village_id=a["village"], head_name=code,
                category="监测户", members=1, active=True, created_at=NOW, updated_at=NOW,
            )  # fmt: skip
        for code, at, status in (
            ("H1", NOW, "active"),
            ("H1", NOW + timedelta(hours=2), "active"),  # the same day
            ("H1", NOW + timedelta(days=1), "active"),
            ("H1", NOW + timedelta(days=30), "revoked"),  # December, revoked
            ("H1", NOW - timedelta(days=20), "active"),  # October
            ("H2", NOW + timedelta(days=3), "revoked"),  # revoked only
        ):
            await _insert(
                conn, VISITS, household_id=hh[code], village_id=a["village"],
                visitor_id=a["person"], visited_at=at, month=f"{at:%Y-%m}", day=at.date(),
                checklist={}, status=status, created_at=at, updated_at=at,
            )  # fmt: skip
    await db.upgrade(empty_engine, "0014")
    async with empty_engine.connect() as conn:
        months = await conn.execute(
            sa.text("SELECT household_id, month, visits, days FROM household_months")
        )
        assert sorted(months) == [(hh["H1"], "2026-10", 1, 1), (hh["H1"], "2026-11", 3, 2)]
        last = await conn.execute(
            sa.text(
                "SELECT id, last_visited_at, last_month, last_month_visits, last_month_days "
                "FROM households"
            )
        )
        got = {r[0]: (str(r[1])[:16] if r[1] is not None else None, *r[2:]) for r in last}
    never = (None, None, None, None)
    assert got == {
        hh["H1"]: ("2026-11-11 02:00", "2026-11", 3, 2),
        hh["H2"]: never,
        hh["H3"]: never,
    }
    await db.downgrade(empty_engine, "0008")
    assert "household_months" not in await _tables(empty_engine)
    await db.upgrade(empty_engine)
    assert await _diff(empty_engine) == []


async def test_concurrent_upgrades_wait_for_each_other(empty_engine, backend, database_url, pooler):
    """Every app process runs `db upgrade` as it starts (systemd's ExecStartPre): started together
    on PostgreSQL, the first migrates and the others wait for it, then find nothing to do."""
    if backend != "postgresql":
        pytest.skip("one writer at a time on SQLite anyway")
    import asyncio

    others = [db.make_engine(database_url, pooler=pooler) for _ in range(2)]
    try:
        results = await asyncio.gather(
            db.upgrade(empty_engine), *(db.upgrade(e) for e in others), return_exceptions=True
        )
    finally:
        for e in others:
            await e.dispose()
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert await _diff(empty_engine) == []
    async with empty_engine.connect() as conn:
        assert await db.current_revision(conn) is not None


async def test_problem_voice_link_goes_down_without_losing_the_voice(empty_engine):
    """0018 adds photos.problem_id (a voice note of 整改完成); down to 0017 the link goes but
    the voice note stays, as a loose one; up again the column is back."""
    await db.upgrade(empty_engine, "0018")
    problems = _table(
        "problems", "id", "county_id", "number", "household_id", "village_id", "kind",
        "description", "status", "found_at",
    )  # fmt: skip
    voices = _table("photos", *PHOTOS.c.keys(), "kind", "problem_id")
    async with empty_engine.begin() as conn:
        a = await _old_world(conn)
        hh = await _insert(
            conn, HOUSEHOLDS, code="H1", village_id=a["village"], head_name="王三女",
            category="监测户", members=1, active=True, created_at=NOW, updated_at=NOW,
        )  # fmt: skip
        problem = await _insert(
            conn, problems, county_id=a["county"], number=1, household_id=hh,
            village_id=a["village"], kind="住房安全", description="屋顶漏雨", status="open",
            found_at=NOW,
        )  # fmt: skip
        voice = await _insert(
            conn, voices, sha256="a" * 64, path="aa/a.amr", mime="audio/amr", size=9, width=0,
            height=0, uploaded_by=a["person"], created_at=NOW, kind="voice", problem_id=problem,
        )  # fmt: skip
    await db.downgrade(empty_engine, "0017")
    async with empty_engine.connect() as conn:
        columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("photos"))
        kept = (await conn.execute(sa.text("SELECT id, kind FROM photos"))).all()
    assert "problem_id" not in {c["name"] for c in columns}
    assert kept == [(voice, "voice")]
    await db.upgrade(empty_engine)
    async with empty_engine.connect() as conn:
        linked = await conn.scalar(sa.text("SELECT problem_id FROM photos"))
    assert linked is None
    assert await _diff(empty_engine) == []


async def test_people_get_a_first_digest_look_and_lose_it_going_down(empty_engine):
    """0019 gives every person their next digest looks at 1970-01-01 (looked at by the next
    tick, which queues nothing already queued today), with the partial indexes; it goes down
    and up."""
    await db.upgrade(empty_engine, "0017")
    async with empty_engine.begin() as conn:
        a = await _old_world(conn)
    await db.upgrade(empty_engine, "0019")
    async with empty_engine.connect() as conn:
        row = (
            await conn.execute(
                sa.text("SELECT morning_next_at, evening_next_at FROM people WHERE id = :id"),
                {"id": a["person"]},
            )
        ).one()
        indexes = await conn.run_sync(lambda c: sa.inspect(c).get_indexes("people"))
    assert [str(v)[:10] for v in row] == ["1970-01-01", "1970-01-01"]
    assert {"ix_people_morning_due", "ix_people_evening_due"} <= {i["name"] for i in indexes}
    await db.downgrade(empty_engine, "0017")
    async with empty_engine.connect() as conn:
        columns = await conn.run_sync(lambda c: sa.inspect(c).get_columns("people"))
    assert "morning_next_at" not in {c["name"] for c in columns}
    await db.upgrade(empty_engine)
