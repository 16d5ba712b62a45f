"""Engines, sessions and schema upgrades for SQLite (embedded default) and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncConnection,
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from storage import visit_summary  # noqa: F401  (registers the visit summary listeners)
from storage.regions import REGION_CACHE

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
# The advisory lock `db upgrade` holds on PostgreSQL ("cunbot" in ASCII; the inbox's per-sender
# keys are 32-bit CRCs, so they never reach this value).
MIGRATION_LOCK_KEY = 0x63756E626F74


def is_sqlite(url: str) -> bool:
    return make_url(url).get_backend_name() == "sqlite"


def is_postgresql(session: AsyncSession) -> bool:
    """Whether the session's database is PostgreSQL (advisory locks, ``ON CONFLICT`` dialect);
    callers above storage ask storage what to do instead of reading the dialect themselves."""
    return session.get_bind().dialect.name == "postgresql"


DEFAULT_POOL_SIZE = 20

# Behind a pooler in transaction mode (PgBouncer ``pool_mode = transaction``) each transaction
# of one client connection may run on a different server connection, so nothing may outlive a
# transaction on the server. asyncpg's and SQLAlchemy's statement caches keep named prepared
# statements across transactions ("prepared statement ... does not exist / already exists"):
# both are off. SQLAlchemy still prepares every statement to read its result columns; it is
# given the unnamed statement (name ""), which PostgreSQL replaces at the next Parse, and which
# asyncpg Parses again right before its Bind when its cache is off. Unique names (uuid4, as in
# SQLAlchemy's asyncpg notes) also avoid the clashes but leave statements behind: asyncpg closes
# a dropped statement on its next prepare, by then possibly on another server connection.
POOLER_CONNECT_ARGS: dict[str, Any] = {
    "statement_cache_size": 0,
    "prepared_statement_cache_size": 0,
    "prepared_statement_name_func": lambda: "",
}


# An engine option (read back by :func:`lone_statements_autocommit`) saying that PostgreSQL is
# reached through a transaction-mode pooler.
POOLER_OPTION = "cunbot_behind_pooler"


def lone_statements_autocommit(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Whether a transaction of a single statement may be run as that statement alone, in
    autocommit (PostgreSQL commits it before answering, as durably as with COMMIT), saving the
    BEGIN and COMMIT round trips. PostgreSQL reached directly only: behind a pooler in
    transaction mode a statement outside a transaction may have its Parse and its Bind sent to
    different server connections; SQLite opens its write transaction in the ``begin`` event."""
    engine = sessionmaker.kw.get("bind")
    return (
        isinstance(engine, AsyncEngine)
        and engine.dialect.name == "postgresql"
        and not engine.get_execution_options().get(POOLER_OPTION, False)
    )


def make_engine(
    url: str, *, echo: bool = False, pool_size: int = DEFAULT_POOL_SIZE, pooler: bool = False
) -> AsyncEngine:
    """Create the engine. SQLite gets WAL, a busy timeout, foreign keys and write-ahead BEGINs.

    ``pooler``: PostgreSQL is reached through a transaction-mode pooler (PgBouncer); no
    prepared statement outlives its transaction (``POOLER_CONNECT_ARGS``)."""
    if is_sqlite(url):
        database = make_url(url).database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, echo=echo, connect_args={"timeout": 30})
        _configure_sqlite(engine)
        return engine
    # A fixed pool: under load, work beyond ``pool_size`` waits for a connection instead of
    # opening one that is closed again when returned. Opening connections over and over (TCP,
    # start-up, type introspection, statements prepared again) cost more CPU than the work
    # itself; no code path holds two connections at once, so waiting cannot deadlock.
    # No pre-ping: it costs a round trip on every checkout. Connections are recycled instead,
    # and a connection that died is discarded on its first error.
    return create_async_engine(
        url,
        echo=echo,
        pool_size=pool_size,
        max_overflow=0,
        pool_recycle=1800,
        pool_timeout=60,
        connect_args=dict(POOLER_CONNECT_ARGS) if pooler else {},
        execution_options={POOLER_OPTION: pooler},
    )


def _configure_sqlite(engine: AsyncEngine) -> None:
    # pysqlite/aiosqlite start transactions lazily and only before writes, so two sessions
    # that both read and then write can deadlock with SQLITE_BUSY (the busy handler is not
    # called for lock upgrades). Taking the write lock at BEGIN serializes writers instead;
    # WAL keeps readers outside transactions unblocked. See the SQLAlchemy docs, "Serializable
    # isolation / Savepoints / Transactional DDL" for the pysqlite driver.
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    # Every session of this sessionmaker shares one region cache (``session.info`` is copied
    # per session, its values are not): see storage.regions.
    return async_sessionmaker(engine, expire_on_commit=False, info={REGION_CACHE: {}})


def alembic_config() -> AlembicConfig:
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


async def _run(engine: AsyncEngine, fn: Any, revision: str) -> None:
    def go(sync_conn: Any) -> None:
        cfg = alembic_config()
        cfg.attributes["connection"] = sync_conn
        fn(cfg, revision)

    async with engine.connect() as conn:
        if conn.dialect.name != "sqlite":
            async with conn.begin():
                # Several processes may start at once (cunbot@1..N each run `db upgrade`): the
                # first takes this lock and migrates, the others wait for it and then find the
                # schema at head. A transaction-scoped lock works through PgBouncer too.
                await conn.execute(
                    text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY}
                )
                await conn.run_sync(go)
            return
        # SQLite: a batch migration copies a table and drops the old one, which other tables
        # reference; with foreign keys on, the drop fails. Alembic's recipe: foreign keys off
        # for the migration (set outside the transaction: inside one SQLite ignores it), then
        # the whole database checked before the commit.
        await conn.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(go)
                await conn.run_sync(_sqlite_foreign_key_check)
        finally:
            await conn.run_sync(_sqlite_pragma, "PRAGMA foreign_keys=ON")


def _sqlite_pragma(sync_conn: Any, pragma: str) -> None:
    cursor = sync_conn.connection.dbapi_connection.cursor()
    try:
        cursor.execute(pragma)
    finally:
        cursor.close()


def _sqlite_foreign_key_check(sync_conn: Any) -> None:
    broken = sync_conn.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"migration left rows pointing at nothing: {broken[:5]}")


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (Alembic), inside one transaction."""
    await _run(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _run(engine, command.downgrade, revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    from alembic.runtime.migration import MigrationContext

    def go(sync_conn: Any) -> str | None:
        return MigrationContext.configure(sync_conn).get_current_revision()

    return await conn.run_sync(go)


async def ping(engine: AsyncEngine, limit: float = 3.0) -> bool:
    async def go() -> None:
        async with engine.connect() as conn:
            await conn.execute(text("SELECT 1"))

    try:
        await asyncio.wait_for(go(), limit)
    except Exception:  # any failure means unhealthy; the caller reports it
        log.warning("database ping failed", exc_info=True)
        return False
    return True
