"""Fair sharing in the delivery worker: the express loop sends replies and small counties'
pushes beside a broadcast's batches in flight, and a county whose backlog is over the
threshold has only its bulk paused, until the backlog is back to it."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta

from core import keys
from storage import outbox
from tasks.delivery import Delivery
from tests.storage.test_outbox_fair import _queue as queue_rows
from tests.tasks.test_delivery import FakeSender, _rows, _world

BIG, SMALL = keys.county_lane(1), keys.county_lane(2)


async def _queue(sessionmaker, clock, recipient, lane, n, prefix, priority=outbox.PRIORITY_BULK):
    await queue_rows(sessionmaker, clock.now(), recipient, lane, n, prefix, priority)


def _status(rows, prefix):
    return {r.status for k, r in rows.items() if k.startswith(f"{prefix}:")}


async def test_a_county_over_the_backlog_threshold_pauses_only_its_bulk(
    sessionmaker, clock, rules, caplog
):
    world = await _world(sessionmaker, clock)
    a, b = world.people["sec0"].id, world.people["sec1"].id
    await _queue(sessionmaker, clock, a, BIG, 6, "big")
    await _queue(sessionmaker, clock, b, SMALL, 2, "rem")
    await _queue(sessionmaker, clock, a, BIG, 1, "reply", priority=outbox.PRIORITY_REPLY)
    sender = FakeSender(clock)
    delivery = Delivery(
        sessionmaker,
        clock,
        dataclasses.replace(rules, county_backlog_pause=5),
        {"fake": sender},
        lane_refresh=timedelta(0),
        pause_refresh=timedelta(0),
    )
    with caplog.at_level(logging.INFO, logger="tasks.delivery"):
        assert await delivery.run_once() == 3
    # Everyone else's work went first: the other county's reminders and the reply.
    assert delivery.paused == {BIG}
    rows = await _rows(sessionmaker)
    assert _status(rows, "big") == {"pending"}
    assert _status(rows, "rem") == _status(rows, "reply") == {"sent"}
    assert "county bulk paused lane=county:1 backlog=6 threshold=5" in caplog.text
    # More of the other county's bulk arrives: it still goes before the paused county's.
    await _queue(sessionmaker, clock, b, SMALL, 2, "more")
    assert await delivery.run_once() == 2
    assert _status(await _rows(sessionmaker), "big") == {"pending"}
    # Nothing else is due: the paused county's bulk goes (a pause yields, it never stops),
    # and once its backlog is back under the threshold the pause is lifted.
    assert await delivery.run_once() == 6
    assert _status(await _rows(sessionmaker), "big") == {"sent"}
    with caplog.at_level(logging.INFO, logger="tasks.delivery"):
        assert await delivery.run_once() == 0
    assert delivery.paused == frozenset()
    assert "county bulk resumed lane=county:1 threshold=5" in caplog.text
    assert len(sender.calls) == 11


async def test_a_paused_county_withdrawing_work_is_resumed_in_the_normal_order(
    sessionmaker, clock, rules, caplog
):
    world = await _world(sessionmaker, clock)
    a = world.people["sec0"].id
    await _queue(sessionmaker, clock, a, BIG, 6, "big")
    delivery = Delivery(
        sessionmaker,
        clock,
        dataclasses.replace(rules, county_backlog_pause=5),
        {"fake": FakeSender(clock)},
        lane_refresh=timedelta(0),
        pause_refresh=timedelta(0),
        batch=1,
    )
    assert await delivery.run_once() == 1  # alone in the queue, paused or not, it goes
    assert delivery.paused == {BIG}
    async with sessionmaker() as s, s.begin():
        assert await outbox.cancel(s, "big:5") == 1
    with caplog.at_level(logging.INFO, logger="tasks.delivery"):
        assert await delivery.run_once() == 1
    assert delivery.paused == frozenset()
    assert "county bulk resumed lane=county:1 threshold=5" in caplog.text


async def test_the_express_claim_sends_small_lanes_and_replies_not_the_heavy_one(
    sessionmaker, clock, rules
):
    world = await _world(sessionmaker, clock)
    a, b = world.people["sec0"].id, world.people["sec1"].id
    await _queue(sessionmaker, clock, a, BIG, 30, "big")
    await _queue(sessionmaker, clock, b, SMALL, 3, "rem")
    await _queue(sessionmaker, clock, b, SMALL, 1, "reply", priority=outbox.PRIORITY_REPLY)
    sender = FakeSender(clock)
    delivery = Delivery(
        sessionmaker, clock, rules, {"fake": sender}, express=True, heavy_lane=10, batch=5
    )
    assert await delivery.run_once(express=True) == 4
    assert delivery.heavy == {BIG}
    assert [c[0] for c in sender.calls] == ["ext1"] * 4
    # Without an express loop running (run_forever starts one) the bulk loop takes every
    # lane in turn, so nothing small is left behind.
    await _queue(sessionmaker, clock, b, SMALL, 2, "more")
    assert await delivery.run_once() == 5
    rows = await _rows(sessionmaker)
    assert _status(rows, "more") == {"sent"}
    assert len([k for k, r in rows.items() if r.status == "sent" and k.startswith("big:")]) == 3


class GatedSender(FakeSender):
    """Holds every send to ``held`` until ``gate`` opens: a broadcast batch in flight."""

    def __init__(self, clock, held):
        super().__init__(clock)
        self.held = held
        self.gate = asyncio.Event()
        self.waiting = asyncio.Event()

    async def send(self, external_id, body, outbox_id=None):
        if external_id == self.held:
            self.waiting.set()
            await self.gate.wait()
        return await super().send(external_id, body, outbox_id)


async def _until(predicate, what):
    for _ in range(1000):
        if await predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


async def test_a_small_county_is_sent_while_a_broadcast_batch_is_in_flight(
    sessionmaker, clock, rules
):
    world = await _world(sessionmaker, clock)
    a, b = world.people["sec0"].id, world.people["sec1"].id
    await _queue(sessionmaker, clock, a, BIG, 60, "big")
    sender = GatedSender(clock, held="ext0")
    delivery = Delivery(
        sessionmaker,
        clock,
        rules,
        {"fake": sender},
        express=True,
        heavy_lane=30,
        batch=10,
        lane_refresh=timedelta(0),
        pause_refresh=timedelta(0),
    )
    loop = asyncio.create_task(delivery.run_forever(interval=0.05))
    try:
        await asyncio.wait_for(sender.waiting.wait(), 10)  # a batch of the broadcast is held
        await _queue(sessionmaker, clock, b, SMALL, 2, "rem")
        await _queue(sessionmaker, clock, b, SMALL, 1, "reply", priority=outbox.PRIORITY_REPLY)
        delivery.wake.set()

        async def small_sent():
            rows = await _rows(sessionmaker)
            return _status(rows, "rem") == _status(rows, "reply") == {"sent"}

        await _until(small_sent, "the small county's pushes and the reply sent")
        rows = await _rows(sessionmaker)
        assert "sending" in _status(rows, "big")  # the broadcast's batch is still in flight
        sender.gate.set()

        async def all_sent():
            return {r.status for r in (await _rows(sessionmaker)).values()} == {"sent"}

        await _until(all_sent, "everything sent")
    finally:
        loop.cancel()
        try:
            await loop
        except asyncio.CancelledError:
            pass
    ids = [c[1] for c in sender.calls]
    assert len(ids) == len(set(ids)) == 63
