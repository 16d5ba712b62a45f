"""One inbound message's transaction on PostgreSQL in three round trips, on asyncpg directly.

    1. ``BEGIN; SELECT pg_advisory_xact_lock(<sender>)``      one simple-query round trip
    2. inbox row (or claim) + the sender's row                one statement, taken after the lock
       ... the handler's own statements, if any, through an ORM session on the same connection
    3. the channel's rows of the exchange (web chat history) + ``COMMIT``, or ``COMMIT`` alone

The sender's lock is taken in the BEGIN round trip, so the next statement's snapshot is taken
after it was granted: that statement sees what the sender's previous message, in any process,
committed, and can both write the inbox row and read the sender (person, region, identity,
conversation state). Taking the lock inside that statement instead would not do: a statement's
snapshot is taken before its advisory lock is granted.

The hot statements run on the asyncpg connection itself rather than through the ORM session
(its execution machinery cost more CPU than the work). The connection is checked out of the
engine's pool in AUTOCOMMIT mode so that SQLAlchemy sends no BEGIN or COMMIT of its own: this
module owns the transaction, and the handler's session (bound to the same connection) runs its
statements inside it. A transaction that did not commit is rolled back here before the
connection goes back to the pool; if that fails the connection is discarded.

Round trip 3 carries literal values (simple-query protocol: no parameters): integers, fixed
words, a UTC timestamp and JSON text, each written by :func:`literal`. A string literal is
exact when ``standard_conforming_strings`` is on (PostgreSQL's default since 9.1; checked per
connection, else the history takes a round trip of its own with parameters).

SQLite keeps the ORM path (bot.inbound.unit): one writer at a time, no round trips.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

import asyncpg
from sqlalchemy.dialects.postgresql import asyncpg as pg_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker

from storage.inbox import lock_key
from storage.people import SENDER_QUERY, Author, author_from_row

# The key under which a session running inside an inbound transaction finds it (session.info).
TX_KEY = "cunbot_inbound_tx"

# $1 channel, $2 external id
_SENDER_SQL = str(SENDER_QUERY.compile(dialect=cast(Any, pg_asyncpg.dialect)()))
_SENDER_COLUMNS = 16
# $1 channel, $2 sender id (the sender query's own parameters), then the inbox row's.
_RECORD_AND_SENDER = (
    "WITH new AS (INSERT INTO inbox (channel, message_id, sender_id, payload, received_at,"
    " handled_at, error) VALUES ($1, $3, $2, $4, $5, $5, NULL)"
    " ON CONFLICT (channel, message_id) DO NOTHING RETURNING id)"
    f" SELECT (SELECT id FROM new), s.* FROM (SELECT 1) AS one LEFT JOIN ({_SENDER_SQL}) AS s"
    " ON true"
)
_CLAIM_AND_SENDER = (
    "WITH claimed AS (UPDATE inbox SET handled_at = $4 WHERE id = $3 AND handled_at IS NULL"
    " RETURNING id)"
    f" SELECT (SELECT id FROM claimed), s.* FROM (SELECT 1) AS one LEFT JOIN ({_SENDER_SQL})"
    " AS s ON true"
)
_HISTORY_PARAMS = (
    "INSERT INTO webchat_messages (identity_id, direction, body, created_at)"
    " SELECT $1, m.direction, m.body, $2"
    " FROM unnest($3::text[], $4::jsonb[]) WITH ORDINALITY AS m(direction, body, n) ORDER BY n"
)


def supported(sessionmaker: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the sessionmaker's database takes this path (PostgreSQL through asyncpg)."""
    bind = sessionmaker.kw.get("bind")
    return isinstance(bind, AsyncEngine) and bind.dialect.driver == "asyncpg"


def naive_utc(value: datetime) -> datetime:
    """A datetime as the UTC columns store it (storage.models.UTCDateTime)."""
    if value.tzinfo is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC).replace(tzinfo=None)


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def literal(value: int | str | datetime | None) -> str:
    """A value as a PostgreSQL literal for a simple query (see the module docstring)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        raise TypeError("no booleans here")
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, datetime):
        return f"'{naive_utc(value).isoformat()}'::timestamp"
    if "\x00" in value:
        raise ValueError("PostgreSQL text cannot hold NUL")
    return "'" + value.replace("'", "''") + "'"


@dataclass
class InboundTx:
    """The open transaction of one inbound message (see the module docstring)."""

    raw: asyncpg.Connection
    session: AsyncSession
    # Rows to write with the COMMIT: (identity id, [(direction, body)], created at).
    history: list[tuple[int, list[tuple[str, dict[str, Any]]], datetime]] = field(
        default_factory=list
    )
    done: bool = False

    async def record_with_sender(
        self,
        *,
        channel: str,
        message_id: str,
        sender_id: str,
        payload: dict[str, Any],
        now: datetime,
    ) -> tuple[int | None, Author]:
        """The inbox row, handled now (``None``: this message id was seen before), and the
        sender as :func:`storage.people.sender` reads them."""
        row = await self.raw.fetchrow(
            _RECORD_AND_SENDER, channel, sender_id, message_id, _json(payload), naive_utc(now)
        )
        return self._split(row)

    async def claim_with_sender(
        self, *, inbox_id: int, channel: str, sender_id: str, now: datetime
    ) -> tuple[bool, Author]:
        """Mark the inbox row handled (``False``: another worker did) and read the sender."""
        row = await self.raw.fetchrow(
            _CLAIM_AND_SENDER, channel, sender_id, inbox_id, naive_utc(now)
        )
        claimed, author = self._split(row)
        return claimed is not None, author

    def _split(self, row: asyncpg.Record | None) -> tuple[Any, Author]:
        assert row is not None  # one row always: the LEFT JOINs keep it
        values = list(row.values())
        first, columns = values[0], values[1 : 1 + _SENDER_COLUMNS]
        if columns[0] is None:
            return first, Author(None)
        for index in (10, 15):  # identities.last_seen_at, conversations.updated_at
            if columns[index] is not None:
                columns[index] = columns[index].replace(tzinfo=UTC)
        return first, author_from_row(columns)

    def add_history(
        self, identity_id: int, messages: list[tuple[str, dict[str, Any]]], now: datetime
    ) -> None:
        """Web chat history rows, written with the COMMIT (storage.webchat.add_messages)."""
        self.history.append((identity_id, messages, now))

    async def commit(self) -> None:
        """Flush the handler's session, then write the history and commit in one round trip."""
        await self.session.flush()
        conforming = self.raw.get_settings().standard_conforming_strings == "on"
        sql = ["COMMIT"]
        if conforming:
            sql[:0] = [_history_sql(*entry) for entry in self.history]
        else:
            for identity_id, messages, now in self.history:
                await self.raw.execute(
                    _HISTORY_PARAMS,
                    identity_id,
                    naive_utc(now),
                    [d for d, _ in messages],
                    [_json(b) for _, b in messages],
                )
        await self.raw.execute("; ".join(sql))
        self.done = True


def _history_sql(
    identity_id: int, messages: Sequence[tuple[str, dict[str, Any]]], now: datetime
) -> str:
    created = literal(now)
    rows = ", ".join(
        f"({literal(identity_id)}, {literal(direction)}, {literal(_json(body))}::jsonb, {created})"
        for direction, body in messages
    )
    return f"INSERT INTO webchat_messages (identity_id, direction, body, created_at) VALUES {rows}"


def current(session: AsyncSession) -> InboundTx | None:
    """The inbound transaction ``session`` runs in, if any."""
    return cast(InboundTx | None, session.info.get(TX_KEY))


class Lanes:
    """What each inbound transaction needs besides its connection, made once and reused: the
    engine in AUTOCOMMIT mode (the same pool) and closed ORM sessions, each bound to the next
    transaction's connection (building a session cost more CPU than a message's statements).
    A session is reused only after a transaction that committed; others are dropped."""

    SPARE = 32  # closed sessions kept at most

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession]) -> None:
        self.sessionmaker = sessionmaker
        self._bind: AsyncEngine | None = None
        self._engine: AsyncEngine | None = None
        self.spare: list[AsyncSession] = []

    @property
    def engine(self) -> AsyncEngine:
        """The sessionmaker's engine (as it is bound now) in AUTOCOMMIT mode."""
        bind = cast(AsyncEngine, self.sessionmaker.kw["bind"])
        if bind is not self._bind or self._engine is None:
            self._bind, self._engine = bind, bind.execution_options(isolation_level="AUTOCOMMIT")
            self.spare.clear()
        return self._engine

    def session(self, conn: AsyncConnection) -> AsyncSession:
        if not self.spare:
            return self.sessionmaker(bind=conn)
        session = self.spare.pop()
        session.bind = conn
        session.sync_session.bind = conn.sync_connection
        return session

    async def give_back(self, session: AsyncSession, clean: bool) -> None:
        await session.close()
        session.info.pop(TX_KEY, None)
        if clean and len(self.spare) < self.SPARE:
            self.spare.append(session)


@contextlib.asynccontextmanager
async def transaction(lanes: Lanes, channel: str, sender_id: str) -> AsyncIterator[InboundTx]:
    """Open the message's transaction holding the sender's lock (round trip 1). The body
    calls :meth:`InboundTx.commit`; anything else (an error, a duplicate) rolls back."""
    async with lanes.engine.connect() as conn:
        raw = cast(asyncpg.Connection, (await conn.get_raw_connection()).driver_connection)
        tx: InboundTx | None = None
        try:
            await raw.execute(
                f"BEGIN; SELECT pg_advisory_xact_lock({lock_key(channel, sender_id)})"
            )
            session = lanes.session(conn)
            tx = InboundTx(raw, session)
            session.info[TX_KEY] = tx
            try:
                yield tx
            finally:
                await lanes.give_back(session, clean=tx.done)
        finally:
            if tx is None or not tx.done:
                await _rollback(conn, raw)


async def _rollback(conn: AsyncConnection, raw: asyncpg.Connection) -> None:
    """End a transaction that did not commit; a connection that cannot is not reused."""
    try:
        if not raw.is_closed():
            await raw.execute("ROLLBACK")
    except BaseException:
        await conn.invalidate()
        raise
