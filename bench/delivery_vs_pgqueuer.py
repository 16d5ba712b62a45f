"""Benchmark: cunbot's outbox delivery against PgQueuer, same PostgreSQL, same run.

    python bench/delivery_vs_pgqueuer.py            # 50,000 of each, 3 rounds (README figures)
    python bench/delivery_vs_pgqueuer.py --small    # 2,000 of each, 2 rounds (CI)

A private database is created on CUNBOT_BENCH_DATABASE_URL's server (default
postgresql+asyncpg://postgres@127.0.0.1:5432/postgres) and dropped afterwards; cunbot's tables
and PgQueuer's live side by side in it. Each round queues N no-op messages in cunbot's outbox
(one per recipient, each with a channel identity, as the scheduler would) and N no-op jobs in
PgQueuer, then drains each queue in turn with the same number of worker processes; the order
alternates between rounds so the machine's noise falls on both. Prints each rate, the ratio
cunbot / PgQueuer per round and overall. Target: ratio >= 1.0. Asserts that every message was
sent once and every job ran once.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import queue
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bench.pgadmin import admin, dsn  # noqa: E402
from core.channel import ChannelLimits, SendResult  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.rules import Rules  # noqa: E402
from storage import db, outbox  # noqa: E402
from storage.models import Base, Identity, OutboxMessage, Person, Region  # noqa: E402
from tasks.delivery import Delivery  # noqa: E402

DEFAULT_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
RECIPIENTS = 5_000


class NoopSender:
    name = "noop"
    limits = ChannelLimits()

    def __init__(self) -> None:
        self.sent: list[int] = []

    async def send(self, external_id, body, outbox_id=None):
        self.sent.append(outbox_id)
        return SendResult(ok=True)


def _cunbot_worker(url: str, batch: int, go, out) -> None:
    async def run() -> tuple[list[int], float]:
        engine = db.make_engine(url, pool_size=4)
        sender = NoopSender()
        delivery = Delivery(
            db.make_sessionmaker(engine), SystemClock(), Rules(), {"noop": sender}, batch=batch
        )
        async with engine.connect() as conn:  # connected before the clock starts
            await conn.execute(sa.text("SELECT 1"))
        go.wait()
        idle = 0
        while idle < 2:
            n = await delivery.run_once()
            idle = idle + 1 if n == 0 else 0
        finished = time.perf_counter()
        await engine.dispose()
        return sender.sent, finished

    out.put(asyncio.run(run()))


def _pgqueuer_worker(url: str, batch: int, go, out) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries, QueueManager
    from pgqueuer.domain.types import QueueExecutionMode

    async def run() -> tuple[list[int], float]:
        conn = await asyncpg.connect(dsn(url))
        qm = QueueManager(Queries(AsyncpgDriver(conn)))
        done: list[int] = []

        @qm.entrypoint("noop")
        async def noop(job) -> None:
            done.append(int(job.id))

        go.wait()
        await qm.run(batch_size=batch, mode=QueueExecutionMode.drain)
        finished = time.perf_counter()
        await conn.close()
        return done, finished

    out.put(asyncio.run(run()))


async def _seed_people(url: str) -> list[int]:
    engine = db.make_engine(url)
    now = datetime.now(UTC)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.create_all)
        county = (
            await conn.execute(
                sa.insert(Region).values(level="county", name="基准县").returning(Region.id)
            )
        ).scalar_one()
        await conn.execute(
            sa.insert(Person),
            [
                {
                    "name": f"p{i}",
                    "role": "village_secretary",
                    "region_id": county,
                    "created_at": now,
                }
                for i in range(RECIPIENTS)
            ],
        )
        ids = list((await conn.execute(sa.select(Person.id).order_by(Person.id))).scalars())
        await conn.execute(
            sa.insert(Identity),
            [
                {"channel": "noop", "external_id": f"x{pid}", "person_id": pid, "created_at": now}
                for pid in ids
            ],
        )
    await engine.dispose()
    return ids


async def _enqueue_cunbot(url: str, people: list[int], n: int, round_no: int) -> None:
    engine = db.make_engine(url)
    sm = db.make_sessionmaker(engine)
    now = datetime.now(UTC)
    rows = [
        {
            "recipient_id": people[i % len(people)],
            "body": {"text": f"通知 {i}"},
            "idempotency_key": f"bench:{round_no}:{i}",
        }
        for i in range(n)
    ]
    async with sm() as s, s.begin():
        await outbox.enqueue_many(s, rows, now)
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE outbox"))
        await conn.commit()
    await engine.dispose()


async def _enqueue_pgqueuer(url: str, n: int, install: bool) -> None:
    import asyncpg
    from pgqueuer import AsyncpgDriver, Queries

    conn = await asyncpg.connect(dsn(url))
    try:
        queries = Queries(AsyncpgDriver(conn))
        if install:
            await queries.install()
        for start in range(0, n, 1000):
            size = min(1000, n - start)
            await queries.enqueue(
                ["noop"] * size, [f"通知 {start + i}".encode() for i in range(size)], [0] * size
            )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


def _drain(target, url: str, batch: int, workers: int) -> tuple[list[int], float]:
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=target, args=(url, batch, go, out)) for _ in range(workers)]
    for p in procs:
        p.start()
    time.sleep(1.5)  # the workers import and connect before the clock starts
    started = time.perf_counter()
    go.set()
    results = []
    while len(results) < len(procs):
        try:
            results.append(out.get(timeout=5))
        except queue.Empty:
            if any(p.exitcode not in (None, 0) for p in procs):
                raise SystemExit("FAILED: a worker process died") from None
    for p in procs:
        p.join()
    done = [i for ids, _ in results for i in ids]
    return done, max(f for _, f in results) - started


async def _left(url: str) -> tuple[int, int]:
    engine = db.make_engine(url)
    async with engine.connect() as conn:
        unsent = await conn.scalar(
            sa.select(sa.func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status != "sent")
        )
        jobs = await conn.scalar(sa.text("SELECT count(*) FROM pgqueuer"))
    await engine.dispose()
    return int(unsent or 0), int(jobs or 0)


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--small", action="store_true", help="2,000 of each, 2 rounds (CI)")
    parser.add_argument("-n", type=int, default=0, help="messages (and jobs) per round")
    parser.add_argument("--rounds", type=int, default=0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500, help="cunbot rows claimed at once")
    parser.add_argument("--pgq-batch", type=int, default=100, help="PgQueuer jobs fetched at once")
    args = parser.parse_args()
    n = args.n or (2_000 if args.small else 50_000)
    rounds = args.rounds or (2 if args.small else 3)
    server = os.environ.get("CUNBOT_BENCH_DATABASE_URL", DEFAULT_URL)
    name = f"cunbot_bench_q_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await admin(server, f'CREATE DATABASE "{name}"')
    url = make_url(server).set(database=name).render_as_string(hide_password=False)
    print(f"database {name}; {n} per round, {rounds} rounds, {args.workers} workers each")
    print(f"cunbot batch {args.batch}, PgQueuer batch_size {args.pgq_batch}; no-op channel/job")
    failed = False
    ratios: list[float] = []
    try:
        people = await _seed_people(url)
        await _enqueue_pgqueuer(url, 0, install=True)
        for r in range(rounds):
            rates: dict[str, float] = {}
            order = ["cunbot", "pgqueuer"] if r % 2 == 0 else ["pgqueuer", "cunbot"]
            for engine_name in order:
                if engine_name == "cunbot":
                    await _enqueue_cunbot(url, people, n, r)
                    done, span = _drain(_cunbot_worker, url, args.batch, args.workers)
                else:
                    await _enqueue_pgqueuer(url, n, install=False)
                    done, span = _drain(_pgqueuer_worker, url, args.pgq_batch, args.workers)
                dupes = len(done) - len(set(done))
                rates[engine_name] = len(done) / span
                print(
                    f"round {r + 1} {engine_name:>8}: {len(done)} in {span:.2f} s "
                    f"= {rates[engine_name]:,.0f} msg/s (duplicates {dupes})"
                )
                failed |= dupes > 0 or len(done) != n
            ratios.append(rates["cunbot"] / rates["pgqueuer"])
            print(f"round {r + 1} ratio cunbot/PgQueuer: {ratios[-1]:.2f}")
        unsent, jobs = await _left(url)
        print(f"ratio over rounds: {min(ratios):.2f}-{max(ratios):.2f} (target >= 1.0)")
        print(f"left behind: {unsent} outbox rows not sent, {jobs} PgQueuer jobs")
        failed |= unsent > 0 or jobs > 0
    finally:
        await admin(server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    if failed:
        raise SystemExit("FAILED: a message was lost or sent twice")


if __name__ == "__main__":
    asyncio.run(main())
