"""Benchmark: one county's huge broadcast must not delay another county's reminders or replies.

    python bench/broadcast_fairness.py            # 200,000-recipient broadcast (README figures)
    python bench/broadcast_fairness.py --small    # 5,000 recipients (CI)

On a private PostgreSQL database (server from CUNBOT_BENCH_DATABASE_URL, default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres), 2 delivery worker processes (LISTEN
wake-ups and batches of 100, as deployed) send through a no-op channel with WeCom's per-member
limits (30 a minute, 1,000 an hour, shared windows in PostgreSQL). While they run, county B queues
reminders and county C's people get replies, in waves; one C member gets a burst of 40 replies
(over the per-member limit). Three phases: the flows alone; the flows while county A's
broadcast drains (its own lane, as task pushes are queued); and the same broadcast with
every row in one shared lane (first come, first served: what fair turns prevent). Prints the
delay (queued -> sent) the small counties see in each phase, and checks that no member got
more than the channel allows in any window. After queueing the broadcast the outbox is
ANALYZEd, as autovacuum would within a minute (``--no-analyze``: stale planner statistics).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.pgadmin import admin  # noqa: E402
from core.channel import ChannelLimits, RateLimit, SendResult  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.rules import Rules  # noqa: E402
from storage import db, outbox  # noqa: E402
from storage.models import Base, Identity, OutboxMessage, Person, RateWindow, Region  # noqa: E402
from tasks.delivery import Delivery  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
LIMITS = ChannelLimits(per_recipient=(RateLimit(30, 60), RateLimit(1000, 3600)))
SMALL_COUNTY = 200  # people in county B and in county C
WAVES, WAVE_GAP = 10, 0.5  # B's reminders and C's replies arrive in waves this far apart
BURST = 40  # replies to one C member at once (the limit lets 30 a minute through)


class Recorder:
    name = "wecom"
    limits = LIMITS

    def __init__(self) -> None:
        self.sent: list[tuple[int, str, float]] = []

    async def send(self, external_id, body, outbox_id=None):
        self.sent.append((outbox_id, external_id, time.time()))
        return SendResult(ok=True)


def _worker(url: str, ready, stop, out) -> None:
    async def run() -> list[tuple[int, str, float]]:
        engine = db.make_engine(url, pool_size=4)
        sender = Recorder()
        delivery = Delivery(
            db.make_sessionmaker(engine),
            SystemClock(),
            # A's broadcast is legitimate here: the backlog pause (a safety brake) stays off.
            Rules(county_backlog_pause=10**9),
            {"wecom": sender},
            listen_url=url,
        )
        loop = asyncio.create_task(delivery.run_forever(interval=1.0))
        assert delivery.listener is not None
        await delivery.listener.connected.wait()
        ready.release()
        await asyncio.to_thread(stop.wait)
        loop.cancel()
        try:
            await loop
        except asyncio.CancelledError:
            pass
        await engine.dispose()
        return sender.sent

    out.put(asyncio.run(run()))


async def _seed(url: str, big: int) -> dict[str, list[int]]:
    engine = db.make_engine(url)
    now = datetime.now(UTC)
    people: dict[str, list[int]] = {}
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        for county, n in (("A", big), ("B", SMALL_COUNTY), ("C", SMALL_COUNTY)):
            region = (
                await conn.execute(
                    sa.insert(Region)
                    .values(level="county", name=f"县{county}")
                    .returning(Region.id)
                )
            ).scalar_one()
            ids: list[int] = []
            for start in range(0, n, 5000):
                rows = [
                    {
                        "name": f"{county}{i}",
                        "role": "village_secretary",
                        "region_id": region,
                        "created_at": now,
                    }
                    for i in range(start, min(n, start + 5000))
                ]
                got = await conn.execute(sa.insert(Person).returning(Person.id), rows)
                ids += list(got.scalars())
            for start in range(0, n, 5000):
                await conn.execute(
                    sa.insert(Identity),
                    [
                        {
                            "channel": "wecom",
                            "external_id": f"{county}{pid}",
                            "person_id": pid,
                            "created_at": now,
                        }
                        for pid in ids[start : start + 5000]
                    ],
                )
            people[county] = ids
    await engine.dispose()
    return people


async def _enqueue(sm, rows: list[dict]) -> None:
    async with sm() as s, s.begin():
        await outbox.enqueue_many(s, rows, datetime.now(UTC))


async def _phase(
    url: str, people: dict[str, list[int]], mode: str, tag: str, analyze: bool
) -> dict:
    """One phase: ``mode`` is none (no broadcast), lanes (A's broadcast in its lane) or shared
    (A's broadcast and B's reminders in one lane)."""
    engine = db.make_engine(url)
    sm = db.make_sessionmaker(engine)
    async with engine.begin() as conn:
        await conn.execute(sa.delete(OutboxMessage))
        await conn.execute(sa.delete(RateWindow))
    ctx = multiprocessing.get_context("spawn")
    ready, stop, out = ctx.Semaphore(0), ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(url, ready, stop, out)) for _ in range(2)]
    for p in procs:
        p.start()
    for _ in procs:  # the workers import, connect and LISTEN before anything is queued
        await asyncio.to_thread(ready.acquire)
    await asyncio.sleep(0.5)
    lane_a = "county:A" if mode == "lanes" else ""
    lane_b = "county:B" if mode == "lanes" else ""
    t_broadcast = time.time()
    if mode != "none":
        for start in range(0, len(people["A"]), 20_000):
            await _enqueue(
                sm,
                [
                    {
                        "recipient_id": pid,
                        "body": {"text": "全县通知"},
                        "idempotency_key": f"{tag}:bc:{pid}",
                        "lane": lane_a,
                    }
                    for pid in people["A"][start : start + 20_000]
                ],
            )
    if analyze and mode != "none":
        # What autovacuum does within a minute of a bulk insert (this box runs PostgreSQL with
        # autovacuum off): without it the planner still sees an empty outbox and sorts the
        # whole queue for each claim instead of walking the claim-order index.
        async with engine.connect() as conn:
            await conn.execute(sa.text("ANALYZE outbox"))
            await conn.commit()
    t_flows = time.time()
    b_per_wave = len(people["B"]) // WAVES
    c_members = people["C"][1:]
    chatty = people["C"][0]
    for w in range(WAVES):
        await _enqueue(
            sm,
            [
                {
                    "recipient_id": pid,
                    "body": {"text": "催办"},
                    "idempotency_key": f"{tag}:rem:{pid}",
                    "lane": lane_b,
                }
                for pid in people["B"][w * b_per_wave : (w + 1) * b_per_wave]
            ]
            + [
                {
                    "recipient_id": pid,
                    "body": {"text": "回复"},
                    "idempotency_key": f"{tag}:reply:{w}:{pid}",
                    "priority": outbox.PRIORITY_REPLY,
                    "lane": "county:C",
                }
                for pid in c_members[w * 5 : (w + 1) * 5]
            ],
        )
        if w == 0:
            await _enqueue(
                sm,
                [
                    {
                        "recipient_id": chatty,
                        "body": {"text": f"回复{i}"},
                        "idempotency_key": f"{tag}:burst:{i}",
                        "priority": outbox.PRIORITY_REPLY,
                    }
                    for i in range(BURST)
                ],
            )
        await asyncio.sleep(WAVE_GAP)
    # Wait until the flows and the broadcast are out (the burst's excess waits a minute).
    deadline = time.time() + 1800
    while time.time() < deadline:
        async with sm() as s:
            left = await s.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(
                    OutboxMessage.status != "sent",
                    ~OutboxMessage.idempotency_key.startswith(f"{tag}:burst:"),
                )
            )
        if not left:
            break
        await asyncio.sleep(0.5)
    t_done = time.time()
    stop.set()
    sends: list[tuple[int, str, float]] = []
    for _ in procs:
        sends += await asyncio.to_thread(out.get, True, 120)
    for p in procs:
        p.join()
    async with sm() as s:
        rows = (
            await s.execute(
                sa.select(OutboxMessage.id, OutboxMessage.idempotency_key, OutboxMessage.created_at)
            )
        ).all()
    await engine.dispose()
    key_of = {oid: (key, created.timestamp()) for oid, key, created in rows}
    delays: dict[str, list[float]] = {"rem": [], "reply": []}
    per_member: dict[str, list[float]] = {}
    for oid, ext, at in sends:
        key, created = key_of[oid]
        kind = key.split(":")[1]
        if kind in delays:
            delays[kind].append(at - created)
        per_member.setdefault(ext, []).append(at)
    over = 0
    for times in per_member.values():
        times.sort()
        for i in range(len(times)):
            inside = [t for t in times[i:] if t < times[i] + 60]
            if len(inside) > 30:
                over += 1
                break
    burst_sent = sum(1 for oid, _, _ in sends if key_of[oid][0].startswith(f"{tag}:burst:"))
    return {
        "delays": delays,
        "over": over,
        "burst_sent": burst_sent,
        "broadcast_s": (t_done - t_broadcast) if mode != "none" else 0.0,
        "enqueue_s": t_flows - t_broadcast,
        "sent": len(sends),
        "dupes": len(sends) - len({oid for oid, _, _ in sends}),
    }


def _fmt(values: list[float]) -> str:
    if not values:
        return "none sent"
    q = statistics.quantiles(values, n=20) if len(values) > 1 else [values[0]] * 19
    return f"p50 {statistics.median(values) * 1000:,.0f} ms, p95 {q[18] * 1000:,.0f} ms, max {max(values) * 1000:,.0f} ms"


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="5,000-recipient broadcast (CI)")
    parser.add_argument("--recipients", type=int, default=0)
    parser.add_argument("--skip-shared", action="store_true", help="skip the one-lane phase")
    parser.add_argument(
        "--no-analyze",
        action="store_true",
        help="do not ANALYZE the outbox after queueing the broadcast (stale planner statistics)",
    )
    args = parser.parse_args()
    big = args.recipients or (5_000 if args.small else 200_000)
    server = os.environ.get("CUNBOT_BENCH_DATABASE_URL", DEFAULT_URL)
    name = f"cunbot_bench_fair_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    failed = False
    try:
        people = await _seed(url, big)
        print(f"database {name}: county A {big:,} people, B and C {SMALL_COUNTY} each")
        print(
            f"B: {SMALL_COUNTY} reminders and C: {WAVES * 5} replies in {WAVES} waves "
            f"{WAVE_GAP} s apart; one C member gets {BURST} replies at once; 2 workers"
        )
        phases = [("none", "without the broadcast"), ("lanes", "with A's broadcast (lanes)")]
        if not args.skip_shared:
            phases.append(("shared", "with A's broadcast, one shared lane (no fair turns)"))
        for i, (mode, label) in enumerate(phases):
            r = await _phase(url, people, mode, f"p{i}", not args.no_analyze)
            print(f"-- {label}")
            if mode != "none":
                print(
                    f"   broadcast queued in {r['enqueue_s']:.1f} s, all out "
                    f"{r['broadcast_s']:.1f} s after queueing began "
                    f"({big / r['broadcast_s']:,.0f} msg/s incl. queueing)"
                )
            print(f"   B reminders: {_fmt(r['delays']['rem'])}")
            print(f"   C replies:   {_fmt(r['delays']['reply'])}")
            print(
                f"   burst: {r['burst_sent']} of {BURST} sent (30 a minute, the rest a minute later); "
                f"members over the limit: {r['over']}; duplicates: {r['dupes']}"
            )
            failed |= r["over"] > 0 or r["dupes"] > 0
    finally:
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if failed:
        raise SystemExit("FAILED: a member got more than the channel allows, or a duplicate")


if __name__ == "__main__":
    asyncio.run(main())
