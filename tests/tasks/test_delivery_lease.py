"""The short lease and its heartbeat: a killed worker's rows go out again within the lease,
at most once more; a live worker's rows stay its own however long its sends take."""

from __future__ import annotations

import asyncio
from collections import Counter
from datetime import timedelta

from core.channel import SendResult
from storage import db
from tasks.delivery import LEASE, Delivery
from tests.tasks.test_delivery import FakeSender, _enqueue, _rows, _world


class StallingSender(FakeSender):
    """Records each call (the far side got it), then hangs from the ``after``-th call on,
    like a worker killed after sending and before recording the outcome."""

    def __init__(self, clock, after: int) -> None:
        super().__init__(clock)
        self.after = after
        self.release = asyncio.Event()
        self.stalled = asyncio.Event()

    async def send(self, external_id, body, outbox_id=None):
        self.calls.append((external_id, outbox_id, self.clock.now()))
        if len(self.calls) >= self.after:
            self.stalled.set()
            await self.release.wait()
        return SendResult(ok=True)


async def test_worker_killed_mid_batch_rows_go_out_within_a_minute_at_most_twice(
    sessionmaker, clock, rules, database_url, pooler
):
    world = await _world(sessionmaker, clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 30, prefix="a")
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 30, prefix="b")
    start = clock.now()
    engines = [db.make_engine(database_url, pooler=pooler) for _ in range(2)]
    try:
        victim_sender = StallingSender(clock, after=5)
        victim = Delivery(
            db.make_sessionmaker(engines[0]),
            clock,
            rules,
            {"fake": victim_sender},
            worker_id="victim",
            batch=40,
        )
        task = asyncio.create_task(victim.run_once())
        await asyncio.wait_for(victim_sender.stalled.wait(), 10)
        task.cancel()  # killed: claimed 40 rows, sent some, recorded nothing
        await asyncio.gather(task, return_exceptions=True)
        rows = await _rows(sessionmaker)
        assert sum(r.status == "sending" for r in rows.values()) == 40

        survivor_sender = FakeSender(clock)
        survivor = Delivery(
            db.make_sessionmaker(engines[1]),
            clock,
            rules,
            {"fake": survivor_sender},
            worker_id="survivor",
            batch=40,
        )
        delivered_at = {}
        while clock.now() - start <= timedelta(seconds=60):
            while await survivor.run_once():
                pass
            for key, row in (await _rows(sessionmaker)).items():
                if row.status == "sent":
                    delivered_at.setdefault(key, clock.now())
            clock.advance(seconds=5)
    finally:
        for e in engines:
            await e.dispose()
    assert len(delivered_at) == 60  # every push delivered within 60 s of the kill
    assert max(delivered_at.values()) - start <= LEASE + timedelta(seconds=5)
    sends = Counter(c[1] for c in victim_sender.calls + survivor_sender.calls)
    assert len(sends) == 60 and max(sends.values()) <= 2
    assert sum(n == 2 for n in sends.values()) == len(victim_sender.calls)  # only those


async def test_heartbeat_keeps_a_slow_live_workers_rows(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 3)
    slow = StallingSender(clock, after=1)
    live = Delivery(sessionmaker, clock, rules, {"fake": slow}, worker_id="live", heartbeat=0.01)
    task = asyncio.create_task(live.run_once())
    await asyncio.wait_for(slow.stalled.wait(), 10)
    clock.advance(seconds=LEASE.total_seconds() * 3)  # its sends take three leases
    await asyncio.sleep(0.1)  # a few beats
    other = FakeSender(clock)
    assert (
        await Delivery(sessionmaker, clock, rules, {"fake": other}, worker_id="o").run_once() == 0
    )
    slow.release.set()
    assert await task == 3
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows.values()} == {"sent"} and other.calls == []
    assert Counter(c[1] for c in slow.calls).most_common(1)[0][1] == 1
