"""How full each outbox lane is, and the express claim that keeps small lanes quick.

A lane's *backlog* is its bulk rows that are due and not yet claimed. Two uses
(tasks.delivery):

- a lane that holds much of the front of the bulk queue is *heavy* (a broadcast, a province's
  digest); the worker's express loop leaves heavy lanes to the ordinary bulk loop and sends
  everything else (replies, another county's reminders) as it arrives, beside the bulk batches
  in flight, instead of after them;
- a county whose backlog is over the configured threshold has its bulk *paused*: not claimed
  (its replies still are) until the backlog falls below the threshold again, e.g. because the
  county withdrew the task that queued it.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import OutboxMessage
from storage.outbox import CLAIM_ORDER, PRIORITY_BULK, PRIORITY_REPLY, OutboxItem, claim_picked

_BULK_DUE = (
    OutboxMessage.status == "pending",
    OutboxMessage.priority == PRIORITY_BULK,
)


async def backlogs(session: AsyncSession, now: datetime, *, at_least: int = 1) -> dict[str, int]:
    """Each lane's due bulk rows not yet claimed, for lanes with at least ``at_least``. One
    statement along the pending rows' (lane, rank) index."""
    count = sa.func.count()
    rows = await session.execute(
        sa.select(OutboxMessage.lane, count)
        .where(*_BULK_DUE, OutboxMessage.not_before <= now)
        .group_by(OutboxMessage.lane)
        .having(count >= at_least)
    )
    return {lane: int(n) for lane, n in rows}


async def front_lanes(session: AsyncSession, now: datetime, sample: int) -> dict[str, int]:
    """How many of the first ``sample`` due bulk rows in claim order each lane holds: the
    lanes that crowd the front of the queue (a broadcast), found by reading ``sample`` rows
    along the claim-order index however long the queue is."""
    front = (
        sa.select(OutboxMessage.lane)
        .where(*_BULK_DUE, OutboxMessage.not_before <= now)
        .order_by(*CLAIM_ORDER)
        .limit(sample)
        .subquery("front")
    )
    rows = await session.execute(sa.select(front.c.lane, sa.func.count()).group_by(front.c.lane))
    return {lane: int(n) for lane, n in rows}


async def backlog(session: AsyncSession, lane: str, now: datetime) -> int:
    """One lane's backlog (the console's notice of a paused county)."""
    return int(
        await session.scalar(
            sa.select(sa.func.count()).where(
                *_BULK_DUE, OutboxMessage.lane == lane, OutboxMessage.not_before <= now
            )
        )
        or 0
    )


async def claim_express(
    session: AsyncSession,
    *,
    now: datetime,
    worker: str,
    limit: int,
    heavy: Collection[str],
    window: int,
) -> list[OutboxItem]:
    """Claim due replies, then due bulk rows of lanes that are not ``heavy``, in claim order.

    Only the front of the bulk queue is searched: rows ranked less than ``window`` past the
    first pending bulk row. A lane with fewer than ``window`` rows waiting has them all there
    (a lane that starts queueing starts at the front, storage.outbox), and a heavy lane has at
    most ``window`` rows there, so the search stays short however long the heavy lane is. Two
    statements at most: replies, then the rest."""
    pending = (
        OutboxMessage.status == "pending",
        OutboxMessage.not_before <= now,
    )
    replies = (
        sa.select(OutboxMessage.id)
        .where(*pending, OutboxMessage.priority == PRIORITY_REPLY)
        .order_by(*CLAIM_ORDER)
        .limit(limit)
    )
    items = await claim_picked(session, replies, now, worker)
    if len(items) >= limit:
        return items
    front = (
        sa.select(OutboxMessage.rank)
        .where(*_BULK_DUE)
        .order_by(OutboxMessage.rank)
        .limit(1)
        .scalar_subquery()
    )
    bulk = (
        sa.select(OutboxMessage.id)
        .where(
            *pending,
            OutboxMessage.priority == PRIORITY_BULK,
            OutboxMessage.rank < front + window,
        )
        .order_by(*CLAIM_ORDER)
        .limit(limit - len(items))
    )
    if heavy:
        bulk = bulk.where(OutboxMessage.lane.not_in(sorted(heavy)))
    return items + await claim_picked(session, bulk, now, worker)
