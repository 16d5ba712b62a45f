"""Shared rate limits: two delivery workers, each with its own engine and (on PostgreSQL) its
own gates, as two processes have, never send one WeCom member more than 30 in any minute."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from core.channel import ChannelLimits, RateLimit
from storage import db
from tasks.delivery import ChannelGates, Delivery
from tests.tasks.test_delivery import FakeSender, _enqueue, _rows, _world

WECOM_LIKE = ChannelLimits(per_recipient=(RateLimit(30, 60), RateLimit(1000, 3600)))


def _max_in_any_minute(times) -> int:
    times = sorted(times)
    return max(
        (sum(1 for u in times if t <= u < t + timedelta(seconds=60)) for t in times), default=0
    )


async def test_two_workers_share_one_members_limit(
    sessionmaker, clock, rules, database_url, backend, pooler
):
    world = await _world(sessionmaker, clock, n=1)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 45, prefix="r", priority=0)
    engines = [db.make_engine(database_url, pooler=pooler) for _ in range(2)]
    senders = [FakeSender(clock, limits=WECOM_LIKE) for _ in range(2)]
    # Two processes on PostgreSQL (each its own gates: the windows are the shared rows);
    # SQLite runs one process, whose workers share its memory gate.
    one = ChannelGates()
    try:
        workers = [
            Delivery(
                db.make_sessionmaker(e),
                clock,
                rules,
                {"fake": s},
                worker_id=f"w{i}",
                batch=10,
                gates=ChannelGates() if backend == "postgresql" else one,
            )
            for i, (e, s) in enumerate(zip(engines, senders, strict=True))
        ]
        assert all(w.gates.shared for w in workers) == (backend == "postgresql")
        for _ in range(40):  # 45 replies within the first minute, then 3 more minutes
            await asyncio.gather(*(w.run_once() for w in workers))
            await asyncio.gather(*(w.run_once() for w in workers))
            clock.advance(seconds=6)
    finally:
        for e in engines:
            await e.dispose()
    times = [t for s in senders for _, _, t in s.calls]
    assert all(s.calls for s in senders)  # both workers sent some
    assert _max_in_any_minute(times) <= 30
    ids = [c[1] for s in senders for c in s.calls]
    assert len(ids) == len(set(ids)) == 45
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows.values()} == {"sent"}
    assert all(r.attempts == 1 for r in rows.values())  # held rows spent no attempt


async def test_overall_and_recipient_windows_take_a_slot_together(sessionmaker, clock, rules):
    """A send refused by one window takes no slot in the other."""
    world = await _world(sessionmaker, clock, n=2)
    limits = ChannelLimits(overall=(RateLimit(3, 60),), per_recipient=(RateLimit(1, 60),))
    sender = FakeSender(clock, limits=limits)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 3, prefix="a")
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 3, prefix="b")
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    await delivery.run_once()
    assert sorted(c[0] for c in sender.calls) == ["ext0", "ext1"]  # one each; overall had 3
    clock.advance(seconds=61)
    await delivery.run_once()
    assert len(sender.calls) == 4


async def test_reply_path_reserve_sees_the_same_windows(sessionmaker, clock, rules):
    gates = ChannelGates()
    sender = FakeSender(clock, limits=ChannelLimits(per_recipient=(RateLimit(2, 60),)))
    Delivery(sessionmaker, clock, rules, {"fake": sender}, gates=gates)  # attaches the store
    waits = [await gates.reserve(sender, "u1", clock.now()) for _ in range(3)]
    assert waits[:2] == [timedelta(0), timedelta(0)] and waits[2] == timedelta(seconds=60)
    assert await gates.reserve(sender, "u2", clock.now()) == timedelta(0)
