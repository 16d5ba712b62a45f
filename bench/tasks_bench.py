"""Benchmark: due-reminder scan, morning digests, and outbox delivery throughput.

    python bench/tasks_bench.py                       # small, SQLite (CI)
    python bench/tasks_bench.py --full --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    python bench/tasks_bench.py --million --reuse --database-url postgresql+asyncpg://...  # see bench/tasks_million.py

Full size: 1,000 villages x 200 open tasks (200,000 assignments) and 10,000 people (a
secretary and nine work-team members per village). On PostgreSQL a private database is
created and dropped. Prints figures; asserts only that nothing was sent twice.
Targets: due-reminder scan < 100 ms, all digests < 10 s, delivery >= 1,000 msg/s.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import sys
import tempfile
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.channel import ChannelLimits, RateLimit, SendResult  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from core.rules import Rules  # noqa: E402
from storage import db, visit_summary  # noqa: E402
from storage import tasks as task_store  # noqa: E402
from storage.models import (  # noqa: E402
    Assignment,
    Base,
    Household,
    Identity,
    OutboxMessage,
    Person,
    Region,
    Visit,
)
from tasks import digest, reminders  # noqa: E402
from tasks.delivery import Delivery  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 10, 7, 0, tzinfo=TZ)
CATEGORIES = ("监测户", "脱贫户", "未脱贫户", "一般户", "边缘易致贫户")


async def _admin(url: str, sql: str) -> None:
    import asyncpg

    u = make_url(url)
    conn = await asyncpg.connect(
        host=u.host or "127.0.0.1",
        port=u.port or 5432,
        user=u.username or "postgres",
        password=u.password,
        database=u.database or "postgres",
    )
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def seed(sm, villages: int, tasks: int, team: int, households: int) -> int:
    now = START
    async with sm() as s, s.begin():
        county = Region(level="county", name="基准县")
        s.add(county)
        await s.flush()
        towns = []
        for t in range(max(1, villages // 50)):
            town = Region(level="township", name=f"乡镇{t}", parent_id=county.id)
            s.add(town)
            towns.append(town)
        await s.flush()
        await s.execute(
            sa.insert(Region),
            [
                {"level": "village", "name": f"村{v}", "parent_id": towns[v % len(towns)].id}
                for v in range(villages)
            ],
        )
        village_ids = list(
            await s.scalars(
                sa.select(Region.id).where(Region.level == "village").order_by(Region.id)
            )
        )
        people = []
        for vid in village_ids:
            people.append({"name": f"书记{vid}", "role": "secretary", "region_id": vid})
            people += [
                {"name": f"队员{vid}-{i}", "role": "team_member", "region_id": vid}
                for i in range(team)
            ]
        people.append({"name": "县干部", "role": "county_staff", "region_id": county.id})
        for start in range(0, len(people), 5000):
            await s.execute(
                sa.insert(Person),
                [
                    {**p, "prefs": {}, "created_at": now, "active": True}
                    for p in people[start : start + 5000]
                ],
            )
        staff = await s.scalar(sa.select(Person.id).where(Person.role == "county_staff"))
        person_ids = list(await s.scalars(sa.select(Person.id)))
        for start in range(0, len(person_ids), 5000):
            await s.execute(
                sa.insert(Identity),
                [
                    {
                        "channel": "noop",
                        "external_id": f"x{pid}",
                        "person_id": pid,
                        "status": "ok",
                        "created_at": now,
                    }
                    for pid in person_ids[start : start + 5000]
                ],
            )
        hh = [
            {
                "code": f"H{vid}-{i}",
                "village_id": vid,
                "head_name": f"户主{i}",
                "category": CATEGORIES[i % len(CATEGORIES)],
                "members": 3,
                "active": True,
                "created_at": now,
                "updated_at": now,
            }
            for vid in village_ids
            for i in range(households)
        ]
        for start in range(0, len(hh), 5000):
            await s.execute(sa.insert(Household), hh[start : start + 5000])
        visited = list(await s.execute(sa.select(Household.id, Household.village_id)))
        secretary_of = dict(
            (
                await s.execute(
                    sa.select(Person.region_id, Person.id).where(Person.role == "secretary")
                )
            ).all()
        )
        visits = [
            {
                "household_id": hid,
                "village_id": vid,
                "visitor_id": secretary_of[vid],
                "visited_at": now - timedelta(days=k + 1),
                "month": "2026-11",
                "day": (now - timedelta(days=k + 1)).astimezone(TZ).date(),
                "checklist": {},
                "status": "active",
                "created_at": now,
                "updated_at": now,
            }
            for n, (hid, vid) in enumerate(visited)
            for k in range(n % 4)
        ]
        for start in range(0, len(visits), 5000):
            await s.execute(sa.insert(Visit), visits[start : start + 5000])
        await visit_summary.rebuild(s)  # the bulk insert bypassed the ORM's visit summaries
    for t in range(tasks):
        async with sm() as s, s.begin():
            deadline = START + timedelta(days=3 + t % 30, hours=11)
            await task_store.create_task(
                s,
                kind="task",
                title=f"任务{t}",
                created_by=staff,
                county_id=county.id,
                village_ids=village_ids,
                now=now,
                deadline=deadline,
                remind_at=reminders.first_remind_at(
                    deadline, task_store.DEFAULT_OFFSETS, Rules(), now
                ),
            )
    return len(person_ids)


async def analyze(engine) -> None:
    async with engine.connect() as conn:
        await conn.execute(sa.text("ANALYZE"))
        await conn.commit()


# WeCom's per-member limits: with --wecom-limits every send takes a slot in its recipient's
# window (shared rows in PostgreSQL, memory on SQLite), checked before sending.
WECOM_LIMITS = ChannelLimits(per_recipient=(RateLimit(30, 60), RateLimit(1000, 3600)))


class NoopSender:
    name = "noop"

    def __init__(self, limits: ChannelLimits) -> None:
        self.sent: list[int] = []
        self.limits = limits

    async def send(self, external_id, body, outbox_id=None):
        self.sent.append(outbox_id)
        return SendResult(ok=True)


def _worker(url: str, at: str, batch: int, limited: bool, out: multiprocessing.Queue) -> None:
    async def go() -> tuple[list[int], float, float]:
        engine = db.make_engine(url, pool_size=4)
        sender = NoopSender(WECOM_LIMITS if limited else ChannelLimits())
        delivery = Delivery(
            db.make_sessionmaker(engine),
            FixedClock(datetime.fromisoformat(at)),
            # One county queues every push here (200,000 at --full): no backlog pause.
            Rules(county_backlog_pause=10**9),
            {"noop": sender},
            batch=batch,
        )
        started = time.perf_counter()
        idle = 0
        while idle < 3:
            n = await delivery.run_once()
            idle = idle + 1 if n == 0 else 0
        finished = time.perf_counter()
        await engine.dispose()
        return sender.sent, started, finished

    out.put(asyncio.run(go()))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--full", action="store_true", help="1,000 villages x 200 tasks, 10,000 people"
    )
    parser.add_argument(
        "--database-url", default="", help="PostgreSQL server URL (a private DB is made)"
    )
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--keep", action="store_true", help="keep the PostgreSQL database")
    parser.add_argument(
        "--wecom-limits", action="store_true", help="deliver under WeCom's per-member windows"
    )
    parser.add_argument(
        "--million",
        action="store_true",
        help="1,000,000 people and assignments: digests by two schedulers, scans (PostgreSQL)",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="--million: keep and reuse the seeded database"
    )
    parser.add_argument("--scale", type=float, default=1.0, help="--million: share of the size")
    parser.add_argument("--repeats", type=int, default=20, help="--million: scan repeats")
    parser.add_argument(
        "--compare-old", action="store_true", help="--million: time the old tick's reads too"
    )
    args = parser.parse_args()
    if args.million:
        from bench import tasks_million

        await tasks_million.run(
            args.database_url,
            reuse=args.reuse,
            scale=args.scale,
            repeats=args.repeats,
            compare=args.compare_old,
        )
        return
    villages, tasks, team, households = (1000, 200, 9, 20) if args.full else (20, 10, 4, 5)
    pg = args.database_url.startswith("postgresql")
    if pg:
        name = f"cunbot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        await _admin(args.database_url, f'CREATE DATABASE "{name}"')
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
    else:
        tmp = tempfile.mkdtemp()
        url = f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
    engine = db.make_engine(url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sm = db.make_sessionmaker(engine)
        rules = Rules()
        t0 = time.perf_counter()
        people = await seed(sm, villages, tasks, team, households)
        async with sm() as s:
            n_assign = await s.scalar(sa.select(sa.func.count()).select_from(Assignment))
        await analyze(engine)
        print(f"backend: {'postgresql' if pg else 'sqlite'} ({make_url(url).database})")
        print(
            f"seeded {villages} villages, {tasks} tasks, {n_assign} assignments, {people} people in {time.perf_counter() - t0:.1f} s"
        )

        # Creation already set remind_at; a first tick confirms nothing is left to schedule.
        t0 = time.perf_counter()
        ticks = 0
        while True:
            async with sm() as s, s.begin():
                r = await reminders.enqueue_due_reminders(s, START, rules)
            ticks += 1
            if r.looked_at == 0:
                break
        print(
            f"first reminder tick after creation: {ticks} tick(s), {time.perf_counter() - t0:.2f} s"
        )

        # A steady-state tick with nothing due, and one where a day's reminders come due.
        async with sm() as s, s.begin():
            t0 = time.perf_counter()
            r = await reminders.enqueue_due_reminders(s, START + timedelta(minutes=1), rules)
            idle_ms = (time.perf_counter() - t0) * 1000
        print(f"due-reminder scan, nothing due: {idle_ms:.1f} ms (looked at {r.looked_at})")
        at = START + timedelta(days=1, hours=1, minutes=5)
        async with sm() as s:
            t0 = time.perf_counter()
            due_ids = list(
                await s.scalars(
                    sa.select(Assignment.id)
                    .where(Assignment.remind_at <= at)
                    .limit(reminders.SCAN_BATCH)
                )
            )
            find_ms = (time.perf_counter() - t0) * 1000
        print(f"find due reminders (indexed remind_at): {find_ms:.1f} ms for {len(due_ids)} rows")
        async with sm() as s, s.begin():
            t0 = time.perf_counter()
            r = await reminders.enqueue_due_reminders(s, at, rules)
            full_ms = (time.perf_counter() - t0) * 1000
        print(f"scan + enqueue {r.reminders} reminders: {full_ms:.1f} ms")

        # Morning digests for everyone, by two schedulers at once (zero duplicates).
        morning = datetime(2026, 11, 11, 7, 31, tzinfo=TZ)
        engine2 = db.make_engine(url)
        sm2 = db.make_sessionmaker(engine2)

        async def run(maker) -> int:
            async with maker() as s, s.begin():
                return await digest.enqueue_morning(s, morning, rules)

        t0 = time.perf_counter()
        counts = await asyncio.gather(run(sm), run(sm2))
        dig_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        again = await run(sm)
        recheck_ms = (time.perf_counter() - t0) * 1000
        await engine2.dispose()
        async with sm() as s:
            n_digest = await s.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.idempotency_key.startswith("digest:morning:"))
            )
        print(
            f"morning digests: {n_digest} queued in {dig_s:.2f} s by two schedulers at once (inserted {counts})"
        )
        print(f"next tick, nothing left to queue: {recheck_ms:.0f} ms (inserted {again})")

        # Delivery: N worker processes drain the outbox into a no-op channel.
        async with sm() as s:
            total = await s.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status == "pending")
            )
        ctx = multiprocessing.get_context("spawn")
        queue = ctx.Queue()
        later = (morning + timedelta(days=1)).isoformat()
        procs = [
            ctx.Process(target=_worker, args=(url, later, args.batch, args.wecom_limits, queue))
            for _ in range(args.workers)
        ]
        for p in procs:
            p.start()
        results = [queue.get() for _ in procs]
        for p in procs:
            p.join()
        sent = [i for ids, _, _ in results for i in ids]
        span = max(f for _, _, f in results) - min(s0 for _, s0, _ in results)
        print(
            f"delivery{' (WeCom per-member windows)' if args.wecom_limits else ''}: "
            f"{len(sent)} of {total} rows by {args.workers} workers in {span:.2f} s "
            f"= {len(sent) / span:.0f} msg/s"
        )
        duplicates = len(sent) - len(set(sent))
        async with sm() as s:
            left = await s.scalar(
                sa.select(sa.func.count())
                .select_from(OutboxMessage)
                .where(OutboxMessage.status != "sent")
            )
        print(f"duplicates sent: {duplicates}; rows not sent: {left}")
        if duplicates or n_digest != sum(counts) or left:
            raise SystemExit("FAILED: duplicates or lost rows")
    finally:
        await engine.dispose()
        if pg and not args.keep:
            await _admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


if __name__ == "__main__":
    asyncio.run(main())
