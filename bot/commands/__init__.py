"""CLI subcommands. Each module has ``add_parsers(sub)``; see bot/cli.py."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from bot.config import Config
from storage import db
from storage.session import async_sessionmaker


@asynccontextmanager
async def open_db(
    config: Config, upgrade: bool = True, *, revision: str | None = None
) -> AsyncIterator[async_sessionmaker]:
    """Sessions for one command. Commands that create data upgrade the SQLite default first
    (like ``cunbot run``); commands that need an existing ledger pass ``upgrade=False``;
    ``cunbot db upgrade`` passes the ``revision`` to bring any database to."""
    engine = db.make_engine(config.core.database_url, pooler=config.core.behind_pooler)
    try:
        if revision is not None:
            await db.upgrade(engine, revision)
        elif upgrade and db.is_sqlite(config.core.database_url):
            await db.upgrade(engine)
        yield db.make_sessionmaker(engine)
    finally:
        await engine.dispose()
