"""Who the digest job must look at now, claimed in chunks, and the outbox rows it writes.

Each person carries the time the digest job next needs to look at them
(``people.morning_next_at`` / ``evening_next_at``, UTC). The catch-up tick reads only the
people whose time has come, through ``ix_people_{kind}_due`` (role, active, next time): at
the morning peak that is everyone on the default hour, once; on every other minute it is
nobody, or the few whose personal hour is now.

Two schedulers split the work by chunks of person ids (``id // SPAN``): a scheduler works on
a chunk only under a transaction-level advisory lock on it (PostgreSQL; it skips a chunk whose
lock the other one holds, and re-reads each person's next time under the lock, which the other
one moved before it committed). Every outbox row is written ``ON CONFLICT (idempotency_key) DO
NOTHING`` besides, so nothing is queued twice even if both read the same person. SQLite has
one writer at a time, so it takes no lock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal, NamedTuple

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import ARRAY, aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from storage import outbox
from storage.models import DIGEST_WHO, Person
from storage.readmodels.recipients import Recipient

Kind = Literal["morning", "evening", "nudge"]

_NEXT = {
    "morning": Person.morning_next_at,
    "evening": Person.evening_next_at,
    "nudge": Person.nudge_next_at,
}
_ID_CHUNK = 5000  # bound parameters per statement on SQLite
SPAN = 5000  # person ids per chunk: the unit two schedulers split the work by
# pg_try_advisory_xact_lock(class, chunk): the two-int4 form, apart from the inbox's bigint keys
_LOCK_CLASS = {"morning": 0x64670001, "evening": 0x64670002, "nudge": 0x64670003}


class Due(NamedTuple):
    """A person whose digest is due now: who, and their village (or county)."""

    person_id: int
    region_id: int


def _postgres(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def _due(kind: Kind, now: datetime) -> tuple[sa.TextClause, sa.ColumnElement[bool]]:
    # the partial index's own predicate, literally, so PostgreSQL can use it in any plan
    return sa.text(DIGEST_WHO[kind]), _NEXT[kind] <= now


def _ids_in(session: AsyncSession, ids: Sequence[int]) -> sa.ColumnElement[bool]:
    if _postgres(session):  # one array parameter, whatever the chunk's size
        return Person.id == sa.any_(sa.bindparam("ids", list(ids), type_=ARRAY(sa.BigInteger)))
    return Person.id.in_(list(ids))


async def due_ids(session: AsyncSession, kind: Kind, now: datetime) -> list[int]:
    """Ids of the active people who get this digest and whose next look has come (the
    partial index ``ix_people_{kind}_due``), in id order."""
    if not _postgres(session):
        rows = await session.scalars(
            sa.select(Person.id).where(*_due(kind, now)).order_by(Person.id)
        )
        return list(rows)
    # one array (decoded in C), not a row per person: at the morning peak that is everyone
    ids = await session.scalar(
        sa.select(sa.func.array_agg(aggregate_order_by(Person.id, Person.id))).where(
            *_due(kind, now)
        )
    )
    return list(ids or ())


async def take_chunk(session: AsyncSession, kind: Kind, chunk: int) -> bool:
    """Whether this transaction may work on chunk ``chunk`` (ids ``chunk * SPAN`` up to the
    next): False when another scheduler holds it now. Held until the transaction ends."""
    if not _postgres(session):
        return True
    took = await session.scalar(
        sa.select(sa.func.pg_try_advisory_xact_lock(_LOCK_CLASS[kind], chunk))
    )
    if took:
        # The chunk's outbox rows and its people's next looks commit together: lost in a
        # crash, both are lost and the next tick does the chunk again. So its commit need
        # not wait for the WAL flush (this transaction only).
        await session.execute(sa.text("SET LOCAL synchronous_commit TO off"))
    return bool(took)


def _no_own_hour(session: AsyncSession, kind: Kind) -> sa.TextClause:
    """The person set neither an hour of their own nor off for this digest (JSON null counts
    as not set, as ``tasks.digest`` reads it; PostgreSQL's ``->`` sends a JSON null the long
    way, which reads it the same)."""
    keys = (f"{kind}_digest", f"{kind}_digest_off")
    if _postgres(session):
        return sa.text(" AND ".join(f"(prefs -> '{k}') IS NULL" for k in keys))
    return sa.text(" AND ".join(f"json_extract(prefs, '$.{k}') IS NULL" for k in keys))


async def settle_default(
    session: AsyncSession, kind: Kind, ids: Sequence[int], now: datetime, next_look: datetime
) -> list[Due]:
    """Of ``ids``, the people still due who keep the default hour: move their next look to
    ``next_look`` and return them, in one statement (the morning's common case; call only
    when the default hour has come, under :func:`take_chunk`)."""
    out: list[Due] = []
    column = _NEXT[kind].key
    for start in range(0, len(ids), _ID_CHUNK):
        settle = (
            sa.update(Person)
            .where(
                _ids_in(session, ids[start : start + _ID_CHUNK]),
                *_due(kind, now),
                _no_own_hour(session, kind),
            )
            .values({column: next_look})
            .returning(Person.id, Person.region_id)
        )
        # on the session's connection: Core rows, no ORM result machinery
        conn = await session.connection()
        if not _postgres(session):
            out += map(Due._make, (await conn.execute(settle)).all())
            continue
        # PostgreSQL hands the settled people over as two arrays (decoded in C), not as
        # thousands of rows
        done = settle.cte("settled")
        people, regions = (
            await conn.execute(
                sa.select(
                    sa.func.array_agg(aggregate_order_by(done.c.id, done.c.id)),
                    sa.func.array_agg(aggregate_order_by(done.c.region_id, done.c.id)),
                )
            )
        ).one()
        out += map(Due, people or (), regions or ())
    return out


async def claim(
    session: AsyncSession,
    kind: Kind,
    ids: Sequence[int],
    now: datetime,
) -> list[Recipient]:
    """Those of ``ids`` still due (read again: another scheduler may have settled them), with
    their village and preferences; call under :func:`take_chunk`."""
    out: list[Recipient] = []
    for start in range(0, len(ids), _ID_CHUNK):
        stmt = (
            sa.select(Person.id, Person.region_id, Person.prefs)
            .where(_ids_in(session, ids[start : start + _ID_CHUNK]), *_due(kind, now))
            .order_by(Person.id)
        )
        out += [
            Recipient(pid, rid, dict(prefs or {}))
            for pid, rid, prefs in await session.execute(stmt)
        ]
    return out


async def set_next(
    session: AsyncSession, kind: Kind, by_value: Mapping[datetime, Sequence[int]]
) -> None:
    """Move each person's next look: one UPDATE per distinct time (most share one)."""
    column = _NEXT[kind].key
    for value, ids in by_value.items():
        for start in range(0, len(ids), _ID_CHUNK):
            await session.execute(
                sa.update(Person)
                .where(_ids_in(session, ids[start : start + _ID_CHUNK]))
                .values({column: value})
                .execution_options(synchronize_session=False)
            )


_UNNEST = sa.text(
    """
    INSERT INTO outbox (recipient_id, channel, body, idempotency_key, priority, not_before,
                        status, attempts, created_at)
    SELECT r, NULL, b::jsonb, k, CAST(:priority AS integer), n, 'pending', 0,
           CAST(:now AS timestamp)
    FROM unnest(CAST(:recipients AS bigint[]), CAST(:bodies AS text[]),
                CAST(:keys AS text[]), CAST(:not_before AS timestamp[])) AS t(r, b, k, n)
    ON CONFLICT (idempotency_key) DO NOTHING
    """
)


@dataclass
class Bulk:
    """Bulk outbox rows column by column, as one ``INSERT ... unnest`` takes them: each body
    already JSON text, each ``not_before`` naive UTC (as stored)."""

    recipients: list[int] = field(default_factory=list)
    bodies: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    not_before: list[datetime] = field(default_factory=list)


def _naive(at: datetime) -> datetime:  # stored naive UTC, as models.UTCDateTime does
    return at.astimezone(UTC).replace(tzinfo=None)


async def enqueue(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> int:
    """Queue bulk rows (recipient_id, body, idempotency_key, not_before); how many were new."""
    if not rows:
        return 0
    if not _postgres(session):
        return await outbox.enqueue_many(session, rows, now)
    return await enqueue_bulk(
        session,
        Bulk(
            [r["recipient_id"] for r in rows],
            [json.dumps(r["body"], ensure_ascii=False) for r in rows],
            [r["idempotency_key"] for r in rows],
            [_naive(r["not_before"]) for r in rows],
        ),
        now,
    )


async def enqueue_bulk(session: AsyncSession, bulk: Bulk, now: datetime) -> int:
    """Queue ``bulk``; how many rows were new (a key already queued is skipped).

    PostgreSQL: one set-based ``INSERT ... SELECT FROM unnest(...)``, no per-row statement
    work. SQLite: ``outbox.enqueue_many``."""
    if not bulk.keys:
        return 0
    if not _postgres(session):
        rows = [
            {
                "recipient_id": r,
                "body": json.loads(b),
                "idempotency_key": k,
                "not_before": n.replace(tzinfo=UTC),
            }
            for r, b, k, n in zip(
                bulk.recipients, bulk.bodies, bulk.keys, bulk.not_before, strict=True
            )
        ]
        return await outbox.enqueue_many(session, rows, now)
    result = await session.execute(
        _UNNEST,
        {
            "recipients": bulk.recipients,
            "bodies": bulk.bodies,
            "keys": bulk.keys,
            "not_before": bulk.not_before,
            "priority": outbox.PRIORITY_BULK,
            "now": _naive(now),
        },
    )
    return int(getattr(result, "rowcount", 0) or 0)
