"""The delivery worker: rate limits before sending, retry-after, backoff, dead rows, leases."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import sqlalchemy as sa

from core.channel import ChannelLimits, RateLimit, SendResult
from storage import outbox
from storage.models import OutboxMessage
from tasks.delivery import ChannelGates, Delivery
from tests.factories import bind, make_world


class FakeSender:
    """The far side of a channel: records each call with the (injected) clock time."""

    def __init__(self, clock, name="fake", limits=None, results=None, raises=None):
        self.clock = clock
        self.name = name
        self.limits = limits or ChannelLimits()
        self.calls: list[tuple[str, int, object]] = []
        self.results = list(results or [])
        self.raises = raises

    async def send(self, external_id, body, outbox_id=None):
        if self.raises is not None:
            raise self.raises
        self.calls.append((external_id, outbox_id, self.clock.now()))
        return self.results.pop(0) if self.results else SendResult(ok=True)


async def _world(sessionmaker, clock, n=2):
    world = await make_world(sessionmaker, clock.now())
    for i in range(n):
        await bind(sessionmaker, world.people[f"sec{i}"], "fake", f"ext{i}", clock.now())
    return world


async def _enqueue(sessionmaker, clock, recipient, count, prefix="m", priority=1):
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue_many(
            s,
            [
                {
                    "recipient_id": recipient,
                    "body": {"text": f"{prefix}{i}"},
                    "idempotency_key": f"{prefix}:{i}",
                    "priority": priority,
                }
                for i in range(count)
            ],
            clock.now(),
        )


async def _rows(sessionmaker):
    async with sessionmaker() as s:
        return {r.idempotency_key: r for r in await s.scalars(sa.select(OutboxMessage))}


async def test_per_recipient_limit_is_enforced_before_sending(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    limits = ChannelLimits(per_recipient=(RateLimit(2, 60),))
    sender = FakeSender(clock, limits=limits)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 5)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    await delivery.run_once()
    assert len(sender.calls) == 2
    rows = await _rows(sessionmaker)
    held = [r for r in rows.values() if r.status == "pending"]
    assert len(held) == 3 and all(r.attempts == 0 for r in held)
    # Due when the window frees, plus a second's slack for sends still on their way.
    assert all(r.not_before == clock.now() + timedelta(seconds=61) for r in held)
    clock.advance(seconds=30)
    await delivery.run_once()
    assert len(sender.calls) == 2  # still inside the minute: nothing sent
    clock.advance(seconds=31)
    await delivery.run_once()
    assert len(sender.calls) == 4
    times = [t for _, _, t in sender.calls]
    for i in range(len(times) - 2):  # never more than 2 inside any 60 s
        assert times[i + 2] - times[i] >= timedelta(seconds=60)


async def test_overall_limit_spans_recipients_and_replies_go_first(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, limits=ChannelLimits(overall=(RateLimit(3, 1),)))
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 4, prefix="bulk")
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 2, prefix="reply", priority=0)
    await Delivery(sessionmaker, clock, rules, {"fake": sender}).run_once()
    rows = await _rows(sessionmaker)
    sent = sorted(k for k, r in rows.items() if r.status == "sent")
    assert sent == ["bulk:0", "reply:0", "reply:1"]


async def test_retry_after_pauses_the_channel_for_every_worker(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, results=[SendResult(ok=False, retry_after=20, error="429")])
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1, prefix="a")
    gates = ChannelGates()
    first = Delivery(sessionmaker, clock, rules, {"fake": sender}, gates=gates, worker_id="w1")
    second = Delivery(sessionmaker, clock, rules, {"fake": sender}, gates=gates, worker_id="w2")
    await first.run_once()
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 1, prefix="b")
    await second.run_once()
    assert len(sender.calls) == 1  # the second worker did not call the paused channel
    rows = await _rows(sessionmaker)
    assert rows["b:0"].status == "pending" and rows["b:0"].attempts == 0
    clock.advance(seconds=21)
    await second.run_once()
    assert {r.status for r in (await _rows(sessionmaker)).values()} == {"sent"}


async def test_failing_channel_backs_off_exponentially_then_dead(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    fails = [SendResult(ok=False, error="500")] * 10
    sender = FakeSender(clock, results=fails)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    gaps = []
    for _ in range(rules.delivery_max_attempts):
        before = clock.now()
        assert await delivery.run_once() == 1
        row = (await _rows(sessionmaker))["m:0"]
        if row.status == "dead":
            break
        gaps.append(row.not_before - before)
        clock.set(row.not_before - timedelta(seconds=1))
        assert await delivery.run_once() == 0  # not before the backoff has passed
        clock.set(row.not_before)
    row = (await _rows(sessionmaker))["m:0"]
    assert row.status == "dead" and row.attempts == rules.delivery_max_attempts
    assert gaps == [timedelta(seconds=5 * 2**i) for i in range(rules.delivery_max_attempts - 1)]


async def test_channel_down_keeps_rows_queued_until_it_is_back(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, raises=ConnectionRefusedError("down"))
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 3)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender})
    for _ in range(20):  # far more tries than delivery_max_attempts
        await delivery.run_once()
        clock.advance(minutes=1)
    rows = await _rows(sessionmaker)
    assert {r.status for r in rows.values()} == {"pending"}
    assert all(r.attempts == 0 for r in rows.values())  # the outage spent no attempt
    sender.raises = None
    for _ in range(10):  # the breaker's next probe answers, then the rest go out
        clock.advance(minutes=1)
        await delivery.run_once()
    assert {r.status for r in (await _rows(sessionmaker)).values()} == {"sent"}
    assert len(sender.calls) == 3


async def test_worker_killed_between_claim_and_send_resends_once_after_lease(
    sessionmaker, clock, rules
):
    world = await _world(sessionmaker, clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1)
    async with sessionmaker() as s, s.begin():  # worker A claims, then dies
        (claimed,) = await outbox.claim_due(s, now=clock.now(), worker="A")
    sender = FakeSender(clock)
    delivery = Delivery(sessionmaker, clock, rules, {"fake": sender}, worker_id="B")
    assert await delivery.run_once() == 0  # still leased to A
    clock.advance(minutes=5, seconds=1)
    assert await delivery.run_once() == 1
    assert await delivery.run_once() == 0
    assert [c[1] for c in sender.calls] == [claimed.id]
    row = (await _rows(sessionmaker))["m:0"]
    assert row.status == "sent" and row.attempts == 2 and row.claimed_by == "B"


async def test_recipient_without_identity_is_undeliverable(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock, n=0)
    await _enqueue(sessionmaker, clock, world.people["sec3"].id, 1)
    await Delivery(sessionmaker, clock, rules, {"fake": FakeSender(clock)}).run_once()
    assert (await _rows(sessionmaker))["m:0"].status == "undeliverable"


async def test_open_web_chat_marks_delivered(sessionmaker, clock, rules):
    world = await _world(sessionmaker, clock)
    sender = FakeSender(clock, results=[SendResult(ok=True, delivered=True)])
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1)
    await Delivery(sessionmaker, clock, rules, {"fake": sender}).run_once()
    row = (await _rows(sessionmaker))["m:0"]
    assert row.sent_at == clock.now() and row.delivered_at == clock.now()


def test_large_bulk_batch_is_spread_over_a_window_small_one_is_not(clock):
    from core.channel import SPREAD_MAX, spread

    now = clock.now()
    assert spread("task:1", 10, now) == now
    times = [spread(f"digest:morning:{i}:20261110", 10_000, now) for i in range(10_000)]
    assert min(times) >= now and max(times) <= now + SPREAD_MAX
    assert max(times) - min(times) > SPREAD_MAX / 2  # spread out, not a burst
    assert spread("digest:morning:7:20261110", 10_000, now) == times[7]  # stable per key


async def test_two_workers_on_separate_engines_send_each_row_once(
    sessionmaker, clock, rules, database_url, pooler
):
    from storage import db

    world = await _world(sessionmaker, clock)
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 120, prefix="a")
    await _enqueue(sessionmaker, clock, world.people["sec1"].id, 120, prefix="b")
    engines = [db.make_engine(database_url, pooler=pooler) for _ in range(2)]
    senders = [FakeSender(clock), FakeSender(clock)]
    try:
        workers = [
            Delivery(
                db.make_sessionmaker(e), clock, rules, {"fake": s}, worker_id=f"w{i}", batch=20
            )
            for i, (e, s) in enumerate(zip(engines, senders, strict=True))
        ]

        async def drain(worker):
            while await worker.run_once():
                pass

        await asyncio.gather(*(drain(w) for w in workers))
    finally:
        for e in engines:
            await e.dispose()
    ids = [c[1] for s in senders for c in s.calls]
    assert len(ids) == len(set(ids)) == 240
    assert {r.status for r in (await _rows(sessionmaker)).values()} == {"sent"}


async def test_push_goes_to_last_used_channel_unless_one_is_pinned(sessionmaker, clock, rules):
    from dataclasses import replace

    world = await _world(sessionmaker, clock, n=1)  # sec0 on "fake" as ext0
    await bind(sessionmaker, world.people["sec0"], "other", "o-0", clock.now())  # used last
    fake, other = FakeSender(clock), FakeSender(clock, name="other")
    senders = {"fake": fake, "other": other}
    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1, prefix="a")
    await Delivery(sessionmaker, clock, rules, senders).run_once()
    assert [c[0] for c in other.calls] == ["o-0"] and fake.calls == []

    await _enqueue(sessionmaker, clock, world.people["sec0"].id, 1, prefix="b")
    await Delivery(sessionmaker, clock, replace(rules, push_channel="fake"), senders).run_once()
    assert [c[0] for c in fake.calls] == ["ext0"]
