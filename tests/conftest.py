"""Shared fixtures: a real database (SQLite file, or PostgreSQL when CUNBOT_TEST_DATABASE_URL
is set), an injected clock, and small builders for regions and people.

PostgreSQL: each pytest process creates its own database on the server named by
CUNBOT_TEST_DATABASE_URL (so parallel runs never collide), builds the schema once, and empties
every table after each test. With CUNBOT_TEST_PGBOUNCER=1 as well, the application reaches
that database through a PgBouncer in transaction mode (tests/pgbouncer.py).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, settings
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker

from core.clock import FixedClock
from core.rules import Rules
from storage import db
from storage.models import Base
from tests import pgbouncer
from tests.s3server import media_backend, s3_endpoint  # noqa: F401 (fixtures)

# Fuzz tests (hypothesis): small and derandomized in CI; HYPOTHESIS_PROFILE=deep for a long run.
_FUZZ = {"deadline": None, "suppress_health_check": [HealthCheck.function_scoped_fixture]}
settings.register_profile("ci", max_examples=60, derandomize=True, database=None, **_FUZZ)
settings.register_profile("deep", max_examples=2000, **_FUZZ)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

SHANGHAI = ZoneInfo("Asia/Shanghai")
PG_ENV = "CUNBOT_TEST_DATABASE_URL"


def _pg_admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)

    async def go() -> None:
        conn = await asyncpg.connect(
            host=u.host or "127.0.0.1",
            port=u.port or 5432,
            user=u.username or "postgres",
            password=u.password,
            database=u.database or "postgres",
        )
        try:
            await conn.execute(sql)
        finally:
            await conn.close()

    asyncio.run(go())


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str | None]:
    base = os.environ.get(PG_ENV)
    if not base:
        yield None
        return
    name = f"cunbot_t_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _pg_admin(base, f'CREATE DATABASE "{name}"')
    url = make_url(base).set(database=name)
    try:
        if pgbouncer.wanted():
            # The database is made on the server; the application talks to it through a
            # PgBouncer in transaction mode, and every Config of the session says so.
            server = (url.host or "127.0.0.1", url.port or 5432, url.username or "postgres")
            with pgbouncer.running(*server) as port, pytest.MonkeyPatch.context() as mp:
                mp.setenv("CUNBOT_DB_POOLER", "pgbouncer")
                yield url.set(host="127.0.0.1", port=port).render_as_string(hide_password=False)
        else:
            yield url.render_as_string(hide_password=False)
    finally:
        _pg_admin(base, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def pooler(pg_url: str | None) -> bool:
    """Whether ``database_url`` leads through a transaction-mode PgBouncer (engines made by a
    test pass it to ``db.make_engine``)."""
    return pg_url is not None and pgbouncer.wanted()


_schema_ready: set[str] = set()


@pytest.fixture
def backend(pg_url: str | None) -> str:
    return "postgresql" if pg_url else "sqlite"


@pytest.fixture
def database_url(pg_url: str | None, tmp_path: Path) -> str:
    return pg_url or f"sqlite+aiosqlite:///{tmp_path / 'cunbot.sqlite3'}"


@pytest.fixture
async def engine(database_url: str, pooler: bool) -> AsyncIterator[AsyncEngine]:
    eng = db.make_engine(database_url, pool_size=5, pooler=pooler)
    if database_url not in _schema_ready:
        async with eng.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        if not db.is_sqlite(database_url):
            _schema_ready.add(database_url)
    yield eng
    if not db.is_sqlite(database_url):
        names = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with eng.begin() as conn:
            await conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    await eng.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker:
    return db.make_sessionmaker(engine)


@pytest.fixture
def clock() -> FixedClock:
    """10:00 on Tuesday 10 November 2026, Shanghai time."""
    return FixedClock(datetime(2026, 11, 10, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def rules(tmp_path: Path) -> Rules:
    return Rules(media_dir=tmp_path / "media")


@pytest.fixture
def artifacts_dir() -> Path:
    path = Path(__file__).resolve().parent.parent / "test-artifacts"
    path.mkdir(exist_ok=True)
    return path
