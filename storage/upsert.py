"""INSERT ... ON CONFLICT DO NOTHING for both backends (the basis of every dedup key)."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.schema import CallableColumnDefault, ScalarElementColumnDefault


async def insert_ignore(
    session: AsyncSession,
    model: Any,
    values: dict[str, Any],
    conflict: list[str],
) -> int | None:
    """Insert a row unless one with the same ``conflict`` columns exists; return the new id."""
    dialect = session.get_bind().dialect
    stmt, defaults = _insert_ignore(dialect, model.__table__, tuple(values), tuple(conflict))
    params = {name: make() for name, make in defaults}
    params.update(values)
    return (await session.execute(stmt, params)).scalar_one_or_none()


@functools.lru_cache(maxsize=256)
def _insert_ignore(
    dialect: Dialect,
    table: sa.Table,
    keys: tuple[str, ...],
    conflict: tuple[str, ...],
) -> tuple[Any, list[tuple[str, Callable[[], Any]]]]:
    """The statement for one table and set of columns, built once, and the Python-side column
    defaults it must fill in itself.

    It is textual SQL (the same on PostgreSQL and SQLite) rather than the dialects' insert
    constructs: SQLAlchemy 2.0 never caches the compiled form of ``insert().on_conflict_...``,
    and compiling it again cost about 0.3 ms on every inbound message and outbox row. The
    columns keep their types, so JSON and UTC datetimes are converted as everywhere else."""
    defaults = _python_defaults(table, keys)
    columns = [*keys, *(name for name, _ in defaults)]
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in columns)
    binds = ", ".join(f":{c}" for c in columns)
    target = ", ".join(quote(c) for c in conflict)
    tail = f"ON CONFLICT ({target}) DO NOTHING RETURNING {quote('id')}"
    params = [sa.bindparam(c, type_=table.c[c].type) for c in columns]
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({binds}) {tail}"
    stmt = sa.text(sql).bindparams(*params).columns(table.c.id)
    return stmt, defaults


# The wrapped default ignores the execution context it is typed to take.
_NO_CONTEXT: Any = None


def _python_defaults(table: sa.Table, keys: tuple[str, ...]) -> list[tuple[str, Callable[[], Any]]]:
    """Columns not given whose model declares a Python default (``default=0``, ``dict``)."""
    out: list[tuple[str, Callable[[], Any]]] = []
    for column in table.columns:
        default = column.default
        if column.name in keys or default is None:
            continue
        if isinstance(default, ScalarElementColumnDefault):
            out.append((column.name, functools.partial(lambda v: v, default.arg)))
        elif isinstance(default, CallableColumnDefault):  # wrapped to take an execution context
            out.append((column.name, functools.partial(default.arg, _NO_CONTEXT)))
        else:
            raise ValueError(f"unsupported default on {table.name}.{column.name}")
    return out


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
