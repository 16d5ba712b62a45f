"""The outbox: every push to a person is a row with a unique idempotency key.

Keys name the effect, e.g. ``remind:{assignment}:{offset}`` or ``digest:{kind}:{person}:{date}``,
so running a job twice, or in two processes, enqueues nothing twice.

Claim order: replies (priority 0) before bulk; bulk rows take turns between *lanes* (a lane
is whose queue a row is in, e.g. one county's). Each bulk row gets a ``rank`` when queued: the
next place in its lane, but never before the front of the whole bulk queue, so a county that
queues 200,000 pushes holds ranks far ahead and another county's reminder queued a minute
later gets a rank near the front (start-time fair queuing). Workers claim in
(priority, rank, id) order, a walk along one partial index.

On PostgreSQL a claim is one ``UPDATE ... FROM (SELECT ... FOR UPDATE SKIP LOCKED)
RETURNING`` and the outcomes of a batch a few statements over arrays of ids; no ORM object is
made on that path. SQLite (one process, one writer) keeps the plain select-and-update.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import CursorResult
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.upsert import insert_ignore, insert_many_ignore

PRIORITY_REPLY = 0
PRIORITY_BULK = 1


@dataclass(frozen=True)
class OutboxItem:
    id: int
    recipient_id: int
    channel: str | None
    body: dict[str, Any]
    idempotency_key: str
    priority: int
    attempts: int
    not_before: datetime
    created_at: datetime | None = None


async def enqueue(
    session: AsyncSession,
    *,
    recipient_id: int,
    body: dict[str, Any],
    key: str,
    now: datetime,
    not_before: datetime | None = None,
    priority: int = PRIORITY_BULK,
    channel: str | None = None,
    lane: str = "",
) -> int | None:
    """Queue a push; ``None`` when the key was already queued (the effect already exists).
    ``lane``: whose turn a bulk push takes (see the module doc)."""
    rank = (await lane_starts(session, {lane}))[lane] if priority != PRIORITY_REPLY else 0
    return await insert_ignore(
        session,
        OutboxMessage,
        {
            "recipient_id": recipient_id,
            "channel": channel,
            "body": body,
            "idempotency_key": key,
            "priority": priority,
            "not_before": not_before or now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "lane": lane,
            "rank": rank,
        },
        ["idempotency_key"],
    )


async def lane_starts(session: AsyncSession, lanes: set[str]) -> dict[str, int]:
    """The rank each lane's next bulk row takes: after the lane's own pending rows, and not
    before the front of the bulk queue (a lane that was idle starts at the front). One
    statement, two index probes per lane."""
    front = (
        sa.select(OutboxMessage.rank)
        .where(OutboxMessage.status == "pending", OutboxMessage.priority == PRIORITY_BULK)
        .order_by(OutboxMessage.rank)
        .limit(1)
        .scalar_subquery()
    )
    columns = [sa.func.coalesce(front, 0)]
    ordered = sorted(lanes)
    for lane in ordered:
        tail = (
            sa.select(OutboxMessage.rank + 1)
            .where(OutboxMessage.status == "pending", OutboxMessage.lane == lane)
            .order_by(OutboxMessage.rank.desc())
            .limit(1)
            .scalar_subquery()
        )
        columns.append(sa.func.coalesce(tail, 0))
    row = (await session.execute(sa.select(*columns))).one()
    return {lane: max(int(row[0]), int(row[i + 1])) for i, lane in enumerate(ordered)}


async def enqueue_many(session: AsyncSession, rows: list[dict[str, Any]], now: datetime) -> int:
    """Bulk enqueue; each row needs recipient_id, body, idempotency_key (and may set others,
    e.g. ``lane``). Bulk rows of one lane take consecutive turns, in the order given."""
    full = [
        {
            "channel": None,
            "priority": PRIORITY_BULK,
            "not_before": now,
            "status": "pending",
            "attempts": 0,
            "created_at": now,
            "lane": "",
            **row,
        }
        for row in rows
    ]
    bulk = [r for r in full if r["priority"] != PRIORITY_REPLY]
    starts = await lane_starts(session, {r["lane"] for r in bulk}) if bulk else {}
    for row in full:
        if row["priority"] == PRIORITY_REPLY:
            row["rank"] = 0
        else:
            row["rank"] = starts[row["lane"]]
            starts[row["lane"]] += 1
    total = 0
    for start in range(0, len(full), 1000):
        total += await insert_many_ignore(
            session, OutboxMessage, full[start : start + 1000], ["idempotency_key"]
        )
    return total


async def cancel(session: AsyncSession, key_prefix: str) -> int:
    """Cancel pending rows whose key starts with ``key_prefix`` (e.g. a finished task's reminders)."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.idempotency_key.startswith(key_prefix, autoescape=True),
            OutboxMessage.status == "pending",
        )
        .values(status="cancelled")
    )
    return cast(CursorResult[Any], result).rowcount or 0


def _pg(session: AsyncSession) -> bool:
    return session.get_bind().dialect.name == "postgresql"


_ITEM_COLUMNS = (
    OutboxMessage.id,
    OutboxMessage.recipient_id,
    OutboxMessage.channel,
    OutboxMessage.body,
    OutboxMessage.idempotency_key,
    OutboxMessage.priority,
    OutboxMessage.attempts,
    OutboxMessage.not_before,
    OutboxMessage.created_at,
)
CLAIM_ORDER = (OutboxMessage.priority, OutboxMessage.rank, OutboxMessage.id)


async def claim_due(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int = 100,
    lease: timedelta = timedelta(seconds=30),
    paused: Collection[str] = (),
    only: Collection[str] | None = None,
) -> list[OutboxItem]:
    """Claim rows that are due: replies first, then bulk lanes in turn (the module doc). On
    PostgreSQL one statement, skipping rows locked by another worker (FOR UPDATE SKIP LOCKED);
    SQLite has one writer at a time, so the lock is implicit. A row claimed by a worker that
    died is claimable again after ``lease`` (a live worker keeps extending it:
    :func:`extend_lease`). Bulk rows of the ``paused`` lanes are left alone (their replies
    are not): storage.outbox_lanes. ``only``: just the bulk rows of these lanes, and rows
    whose lease ran out (the rest is the express claim's, storage.outbox_lanes)."""
    live = OutboxMessage.status.in_(("pending", "sending"))
    due = sa.or_(
        OutboxMessage.status == "pending",
        OutboxMessage.claimed_at < now - lease,
    )
    query = (
        sa.select(OutboxMessage.id)
        .where(live, due, OutboxMessage.not_before <= now)
        .order_by(*CLAIM_ORDER)
        .limit(limit)
    )
    if only is not None:
        query = query.where(
            sa.or_(
                sa.and_(
                    OutboxMessage.priority == PRIORITY_BULK,
                    OutboxMessage.lane.in_(sorted(only)),
                ),
                OutboxMessage.status == "sending",
            )
        )
    if paused:
        query = query.where(
            sa.or_(
                OutboxMessage.priority == PRIORITY_REPLY,
                OutboxMessage.lane.not_in(sorted(paused)),
            )
        )
    return await claim_picked(session, query, now, worker)


async def claim_picked(
    session: AsyncSession, query: sa.Select[tuple[int]], now: datetime, worker: str
) -> list[OutboxItem]:
    """Claim the rows ``query`` picks (ids, in claim order, with its limit): one statement on
    PostgreSQL (the pick locked with SKIP LOCKED), select-and-update on SQLite."""
    if not _pg(session):
        return await _claim_sqlite(session, query, now, worker)
    picked = query.with_for_update(skip_locked=True).subquery("picked")
    stmt = (
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == picked.c.id)
        .values(
            status="sending",
            claimed_at=now,
            claimed_by=worker,
            attempts=OutboxMessage.attempts + 1,
        )
        .returning(*_ITEM_COLUMNS, OutboxMessage.rank)
    )
    rows = list((await session.execute(stmt)).all())
    rows.sort(key=lambda r: (r.priority, r.rank, r.id))
    return [OutboxItem(*r[:-1]) for r in rows]


async def _claim_sqlite(
    session: AsyncSession, query: sa.Select[tuple[int]], now: datetime, worker: str
) -> list[OutboxItem]:
    ids = list(await session.scalars(query))
    if not ids:
        return []
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .values(
            status="sending",
            claimed_at=now,
            claimed_by=worker,
            attempts=OutboxMessage.attempts + 1,
        )
    )
    rows = await session.execute(
        sa.select(*_ITEM_COLUMNS).where(OutboxMessage.id.in_(ids)).order_by(*CLAIM_ORDER)
    )
    return [OutboxItem(*r) for r in rows]


def _ids(session: AsyncSession, ids: list[int]) -> sa.ColumnElement[bool]:
    """``id = ANY(:ids)`` on PostgreSQL (one parameter, one cached plan for any batch size)."""
    if _pg(session):
        return OutboxMessage.id == sa.any_(
            sa.bindparam("ids", ids, type_=postgresql.ARRAY(sa.Integer))
        )
    return OutboxMessage.id.in_(ids)


async def extend_lease(
    session: AsyncSession, outbox_ids: list[int], worker: str, now: datetime
) -> int:
    """The heartbeat of a live worker: its rows still in ``sending`` stay leased to it."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(
            _ids(session, outbox_ids),
            OutboxMessage.status == "sending",
            OutboxMessage.claimed_by == worker,
        )
        .values(claimed_at=now)
    )
    return cast(CursorResult[Any], result).rowcount or 0


async def mark_sent(
    session: AsyncSession,
    outbox_ids: list[int],
    now: datetime,
    channel: str,
    delivered: bool = False,
) -> None:
    """Rows sent through ``channel``; ``delivered`` when the person saw them at once."""
    values: dict[str, Any] = {
        "status": "sent",
        "sent_at": now,
        "channel": channel,
        "last_error": None,
    }
    if delivered:
        values["delivered_at"] = now
    await session.execute(
        sa.update(OutboxMessage).where(_ids(session, outbox_ids)).values(**values)
    )


async def mark_sent_if_pending(
    session: AsyncSession, outbox_id: int, now: datetime, channel: str
) -> bool:
    """Mark a row sent that nobody claimed (a reply's fast path, right after sending it);
    ``False`` when a delivery worker took it meanwhile."""
    result = await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id, OutboxMessage.status == "pending")
        .values(status="sent", sent_at=now, channel=channel, last_error=None)
    )
    return cast(CursorResult[Any], result).rowcount == 1


_OUTBOX = OutboxMessage.__table__
_MARK_SENT_SQL = (
    "UPDATE outbox SET status = 'sent', sent_at = :now, channel = :channel, last_error = NULL"
    " WHERE {ids} AND status = 'pending' RETURNING id"
)
_MARK_SENT_BINDS = (
    sa.bindparam("now", type_=_OUTBOX.c.sent_at.type),
    sa.bindparam("channel", type_=_OUTBOX.c.channel.type),
)
# Textual, built once per backend: one cached statement (one plan on PostgreSQL: ids as one
# array parameter) for any number of rows, and no ORM update machinery around it.
_MARK_SENT_IF_PENDING = {
    "postgresql": sa.text(_MARK_SENT_SQL.format(ids="id = ANY(:ids)"))
    .bindparams(*_MARK_SENT_BINDS, sa.bindparam("ids", type_=postgresql.ARRAY(sa.Integer)))
    .columns(_OUTBOX.c.id),
    "sqlite": sa.text(_MARK_SENT_SQL.format(ids="id IN :ids"))
    .bindparams(*_MARK_SENT_BINDS, sa.bindparam("ids", expanding=True))
    .columns(_OUTBOX.c.id),
}


async def mark_many_sent_if_pending(
    session: AsyncSession, outbox_ids: list[int], now: datetime, channel: str
) -> set[int]:
    """:func:`mark_sent_if_pending` for many rows in one statement; returns the ids marked
    (the others a delivery worker took meanwhile)."""
    if not outbox_ids:
        return set()
    stmt = _MARK_SENT_IF_PENDING["postgresql" if _pg(session) else "sqlite"]
    result = await session.execute(stmt, {"ids": outbox_ids, "now": now, "channel": channel})
    return set(result.scalars())


async def defer(session: AsyncSession, outbox_id: int, until: datetime, error: str) -> None:
    """Back to pending without spending the attempt (held by a rate limit or a channel that
    is down)."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(
            status="pending",
            not_before=until,
            attempts=OutboxMessage.attempts - 1,
            last_error=error[:2000] or None,
        )
    )


async def mark_retry(session: AsyncSession, outbox_id: int, error: str, retry_at: datetime) -> None:
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status="pending", not_before=retry_at, last_error=error[:2000])
    )


async def mark_final(session: AsyncSession, outbox_id: int, status: str, error: str) -> None:
    """``dead`` (gave up after retries) or ``undeliverable`` (no channel can reach the person)."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(OutboxMessage.id == outbox_id)
        .values(status=status, last_error=error[:2000])
    )


# Executemany statements go to the table (Core), not the ORM's bulk-update-by-primary-key.
_TABLE = cast(sa.Table, OutboxMessage.__table__)


async def defer_many(session: AsyncSession, rows: list[tuple[int, datetime, str]]) -> None:
    """:func:`defer` for a batch of (id, until, error): one executemany."""
    if not rows:
        return
    await session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == sa.bindparam("oid"))
        .values(
            status="pending",
            not_before=sa.bindparam("until"),
            attempts=_TABLE.c.attempts - 1,
            last_error=sa.bindparam("error"),
        ),
        [{"oid": i, "until": u, "error": e[:2000] or None} for i, u, e in rows],
    )


async def retry_many(session: AsyncSession, rows: list[tuple[int, datetime, str]]) -> None:
    """:func:`mark_retry` for a batch of (id, retry_at, error): one executemany."""
    if not rows:
        return
    await session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == sa.bindparam("oid"))
        .values(
            status="pending", not_before=sa.bindparam("until"), last_error=sa.bindparam("error")
        ),
        [{"oid": i, "until": u, "error": e[:2000]} for i, u, e in rows],
    )


async def final_many(session: AsyncSession, rows: list[tuple[int, str, str]]) -> None:
    """:func:`mark_final` for a batch of (id, status, error): one executemany."""
    if not rows:
        return
    await session.execute(
        sa.update(_TABLE)
        .where(_TABLE.c.id == sa.bindparam("oid"))
        .values(status=sa.bindparam("final"), last_error=sa.bindparam("error")),
        [{"oid": i, "final": st, "error": e[:2000]} for i, st, e in rows],
    )


async def get(session: AsyncSession, outbox_id: int) -> OutboxMessage | None:
    return await session.get(OutboxMessage, outbox_id)
