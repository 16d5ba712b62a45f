"""What the PostgreSQL benches share: the asyncpg form of a SQLAlchemy URL, and one statement
run on a connection of its own (CREATE / DROP DATABASE, which no transaction may hold)."""

from __future__ import annotations

from sqlalchemy.engine import make_url


def dsn(url: str) -> str:
    """The asyncpg form of a SQLAlchemy URL."""
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


async def admin(url: str, sql: str) -> None:
    import asyncpg

    conn = await asyncpg.connect(dsn(url))
    try:
        await conn.execute(sql)
    finally:
        await conn.close()
