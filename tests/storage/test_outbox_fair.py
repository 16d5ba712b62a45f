"""Claim order: replies first, then counties' bulk pushes in turn (lanes and ranks), and a
lane that was idle starts at the front of the bulk queue, not before rows already waiting."""

from __future__ import annotations

from datetime import timedelta

from storage import outbox, outbox_lanes
from tests.factories import make_world


async def _queue(sm, now, recipient, lane, n, prefix, priority=outbox.PRIORITY_BULK):
    async with sm() as s, s.begin():
        await outbox.enqueue_many(
            s,
            [
                {
                    "recipient_id": recipient,
                    "body": {"text": f"{prefix}{i}"},
                    "idempotency_key": f"{prefix}:{i}",
                    "lane": lane,
                    "priority": priority,
                }
                for i in range(n)
            ],
            now,
        )


async def _claim(sm, now, limit):
    async with sm() as s, s.begin():
        items = await outbox.claim_due(s, now=now, worker="w", limit=limit)
        await outbox.mark_sent(s, [i.id for i in items], now, "fake")
    return [i.idempotency_key for i in items]


async def test_counties_take_turns_and_replies_go_first(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    a, b = world.people["sec0"].id, world.people["sec1"].id
    now = clock.now()
    await _queue(sessionmaker, now, a, "county:1", 30, "big")  # a county-wide broadcast
    later = clock.advance(seconds=5)
    await _queue(sessionmaker, later, b, "county:2", 3, "rem")  # another county's reminders
    async with sessionmaker() as s, s.begin():
        await outbox.enqueue(
            s,
            recipient_id=b,
            body={"text": "hi"},
            key="reply:1",
            now=later,
            priority=outbox.PRIORITY_REPLY,
        )
    first = await _claim(sessionmaker, later, 8)
    assert first == ["reply:1", "big:0", "rem:0", "big:1", "rem:1", "big:2", "rem:2", "big:3"]
    assert await _claim(sessionmaker, later, 100) == [f"big:{i}" for i in range(4, 30)]


async def test_a_lane_that_was_idle_starts_at_the_front_not_before_it(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    a, c = world.people["sec0"].id, world.people["sec1"].id
    now = clock.now()
    await _queue(sessionmaker, now, a, "county:1", 20, "big")
    assert await _claim(sessionmaker, now, 10) == [f"big:{i}" for i in range(10)]
    later = now + timedelta(seconds=1)
    await _queue(sessionmaker, later, c, "county:3", 4, "new")
    # The newcomer interleaves with what is left of the broadcast; it does not jump all of it
    # (nor wait behind it), and the broadcast's own next rows keep their turns.
    got = await _claim(sessionmaker, later, 6)
    assert got == ["big:10", "new:0", "big:11", "new:1", "big:12", "new:2"]
    # The county queues more: its rows go after its own, still interleaved with the other.
    await _queue(sessionmaker, later, a, "county:1", 2, "more")
    rest = await _claim(sessionmaker, later, 100)
    assert rest.index("new:3") < rest.index("big:19") < rest.index("more:0")


async def _queue_rows(sm, now, rows):
    async with sm() as s, s.begin():
        await outbox.enqueue_many(s, rows, now)


def _row(recipient, lane, key, **extra):
    return {
        "recipient_id": recipient,
        "body": {"text": key},
        "idempotency_key": key,
        "lane": lane,
        **extra,
    }


async def test_a_lanes_backlog_counts_its_due_bulk_rows_not_yet_claimed(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    a = world.people["sec0"].id
    now = clock.now()
    later = now + timedelta(hours=1)
    await _queue_rows(
        sessionmaker,
        now,
        [_row(a, "county:1", f"due:{i}") for i in range(5)]
        + [_row(a, "county:1", f"later:{i}", not_before=later) for i in range(3)]
        + [_row(a, "county:1", f"reply:{i}", priority=outbox.PRIORITY_REPLY) for i in range(2)]
        + [_row(a, "county:2", f"other:{i}") for i in range(4)],
    )
    async with sessionmaker() as s:
        assert await outbox_lanes.backlogs(s, now) == {"county:1": 5, "county:2": 4}
        assert await outbox_lanes.backlogs(s, now, at_least=5) == {"county:1": 5}
        assert await outbox_lanes.backlog(s, "county:1", later) == 8
        assert await outbox_lanes.backlog(s, "county:3", later) == 0
    await _claim(sessionmaker, now, 4)  # the replies, then two bulk rows of each county
    async with sessionmaker() as s:
        assert await outbox_lanes.backlogs(s, now) == {"county:1": 4, "county:2": 3}


async def test_a_paused_lane_keeps_its_replies_and_other_lanes_go_on(sessionmaker, clock):
    world = await make_world(sessionmaker, clock.now())
    a, b = world.people["sec0"].id, world.people["sec1"].id
    now = clock.now()
    await _queue_rows(
        sessionmaker,
        now,
        [_row(a, "county:1", f"big:{i}") for i in range(5)]
        + [_row(b, "county:2", f"rem:{i}") for i in range(3)]
        + [_row(a, "county:1", "reply:1", priority=outbox.PRIORITY_REPLY)],
    )
    async with sessionmaker() as s, s.begin():
        got = await outbox.claim_due(s, now=now, worker="w", limit=100, paused={"county:1"})
    assert [i.idempotency_key for i in got] == ["reply:1", "rem:0", "rem:1", "rem:2"]
    async with sessionmaker() as s, s.begin():
        rest = await outbox.claim_due(s, now=now, worker="w", limit=100)
    assert [i.idempotency_key for i in rest] == [f"big:{i}" for i in range(5)]


async def test_the_express_claim_leaves_heavy_lanes_and_searches_only_the_front(
    sessionmaker, clock
):
    world = await make_world(sessionmaker, clock.now())
    a, b = world.people["sec0"].id, world.people["sec1"].id
    now = clock.now()
    await _queue(sessionmaker, now, a, "county:1", 30, "big")
    await _queue(sessionmaker, now, b, "county:2", 3, "rem")
    await _queue(sessionmaker, now, b, "county:2", 1, "reply", priority=outbox.PRIORITY_REPLY)

    async def express(heavy, window):
        async with sessionmaker() as s, s.begin():
            items = await outbox_lanes.claim_express(
                s, now=now, worker="x", limit=50, heavy=heavy, window=window
            )
        return [i.idempotency_key for i in items]

    assert await express({"county:1"}, 10) == ["reply:0", "rem:0", "rem:1", "rem:2"]
    # Nothing heavy: the search still stops a window past the front of the bulk queue.
    assert await express(set(), 4) == [f"big:{i}" for i in range(4)]
    # The bulk loop beside it keeps to the named lanes.
    await _queue(sessionmaker, now, b, "county:2", 2, "more")
    async with sessionmaker() as s, s.begin():
        got = await outbox.claim_due(s, now=now, worker="w", limit=3, only={"county:1"})
    assert [i.idempotency_key for i in got] == ["big:4", "big:5", "big:6"]
