"""`tasks_bench.py --million`: digests and reminder scans at province size, on PostgreSQL.

10,000 villages x 100 people (a secretary and 99 work-team members) = 1,000,000 people, and
100 tasks sent to every village = 1,000,000 assignments (task t of a village is assigned to
its person t, so everyone has one item), 10 households per village with visits. Seeded with
set-based SQL (INSERT ... SELECT generate_series); seeding is timed apart and not counted.
``--reuse`` keeps the database (cunbot_bench_million) and only resets what a run changes.

Prints:
- the catch-up tick before the morning, and (``--compare-old``) what the tick before this
  change read each minute (every person's preferences and every digest key);
- all morning digests computed and queued by two scheduler processes at once: wall time,
  rows each inserted, and duplicates (person-days queued more than once; must be 0);
- the catch-up tick right after (rows read, time), and after 1,000 people change their hour;
- the due-reminder scan: nothing due, and one batch of 5,000 due (p50/p95 over repeats,
  each rolled back), with the plan of the lookup.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import statistics
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core import keys
from core.clock import FixedClock
from core.reminder_schedule import DEFAULT_OFFSETS, first_remind_at
from core.rules import Rules
from storage import db, people, visit_summary
from storage.models import Base, OutboxMessage
from storage.readmodels.recipients import absent_keys, active_with_roles
from tasks import digest, reminders
from tasks.scheduler import Scheduler

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 10, 7, 0, tzinfo=TZ)
MORNING = datetime(2026, 11, 11, 7, 31, tzinfo=TZ)
NAME = "cunbot_bench_million"
VILLAGES, PER_VILLAGE, TASKS, HOUSEHOLDS = 10_000, 100, 100, 10
CATEGORIES = ("监测户", "脱贫户", "未脱贫户", "一般户", "边缘易致贫户")


def _utc(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(tzinfo=None)


async def _admin(url: str, sql: str) -> Any:
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
        return await conn.fetch(sql)
    finally:
        await conn.close()


async def _seed(engine: Any, scale: float) -> None:
    villages = int(VILLAGES * scale)
    now = _utc(START)
    async with engine.begin() as c:
        await c.run_sync(Base.metadata.create_all)
        x = c.exec_driver_sql
        county = (
            await x("INSERT INTO regions (level, name) VALUES ('county', '基准省县') RETURNING id")
        ).scalar_one()
        await x(
            "INSERT INTO regions (level, name, parent_id) "
            f"SELECT 'township', '乡镇' || g, {county} FROM generate_series(0, 199) g"
        )
        town0 = (await x("SELECT min(id) FROM regions WHERE level = 'township'")).scalar_one()
        await x(
            "INSERT INTO regions (level, name, parent_id) "
            f"SELECT 'village', '村' || g, {town0} + g % 200 "
            f"FROM generate_series(0, {villages - 1}) g ORDER BY g"
        )
        v0 = (await x("SELECT min(id) FROM regions WHERE level = 'village'")).scalar_one()
        await x(
            "INSERT INTO people (name, role, region_id, active, prefs, created_at) "
            f"VALUES ('县干部', 'county_staff', {county}, true, '{{}}', '{now}')"
        )
        staff = (await x("SELECT max(id) FROM people")).scalar_one()
        await x(
            "INSERT INTO people (name, role, region_id, active, prefs, created_at) "
            f"SELECT '队员' || g, CASE WHEN g % {PER_VILLAGE} = 0 THEN 'secretary' "
            f"ELSE 'team_member' END, {v0} + g / {PER_VILLAGE}, true, '{{}}', '{now}' "
            f"FROM generate_series(0, {villages * PER_VILLAGE - 1}) g ORDER BY g"
        )
        p0 = (await x("SELECT min(id) FROM people WHERE role <> 'county_staff'")).scalar_one()
        cats = "','".join(CATEGORIES)
        await x(
            "INSERT INTO households (code, village_id, head_name, category, members, active, "
            f"created_at, updated_at) SELECT 'H' || g, {v0} + g / {HOUSEHOLDS}, '户主' || g, "
            f"(ARRAY['{cats}'])[1 + g % 5], 3, true, '{now}', '{now}' "
            f"FROM generate_series(0, {villages * HOUSEHOLDS - 1}) g"
        )
        await x(
            "INSERT INTO visits (household_id, village_id, visitor_id, visited_at, month, day, "
            "checklist, status, created_at, updated_at) "
            f"SELECT h.id, h.village_id, {p0} + (h.village_id - {v0}) * {PER_VILLAGE}, "
            f"TIMESTAMP '{now}' - make_interval(days => k), '2026-11', "
            f"(TIMESTAMP '{now}' - make_interval(days => k))::date, '{{}}', 'active', "
            f"'{now}', '{now}' FROM households h, generate_series(1, 3) k WHERE k <= h.id % 4"
        )
        await visit_summary.rebuild(c)
        rules = Rules()
        for t in range(TASKS):
            notice = t % 20 == 19
            deadline = None if notice else START + timedelta(days=1 + t % 30, hours=11)
            remind = first_remind_at(deadline, DEFAULT_OFFSETS, rules, START)
            task_id = (
                await c.execute(
                    sa.text(
                        "INSERT INTO tasks (kind, number, title, body, created_by, county_id, "
                        "deadline, reminder_offsets, evidence_required, scope, status, "
                        "created_at) VALUES (:kind, :number, :title, '', :staff, :county, "
                        ":deadline, '[]', false, '{}', 'active', :now) RETURNING id"
                    ),
                    {
                        "kind": "notice" if notice else "task",
                        "number": t + 1,
                        "title": f"任务{t}",
                        "staff": staff,
                        "county": county,
                        "deadline": deadline and _utc(deadline),
                        "now": now,
                    },
                )
            ).scalar_one()
            await c.execute(
                sa.text(
                    "INSERT INTO assignments (task_id, village_id, assignee_id, status, "
                    "deadline, evidence, remind_at, created_at, updated_at) "
                    f"SELECT :task, {v0} + g, {p0} + g * {PER_VILLAGE} + {t % PER_VILLAGE}, "
                    "'pending', CAST(:deadline AS timestamp), '{}', "
                    "CAST(:remind AS timestamp), :now, :now "
                    f"FROM generate_series(0, {villages - 1}) g"
                ),
                {
                    "task": task_id,
                    "deadline": deadline and _utc(deadline),
                    "remind": remind and _utc(remind),
                    "now": now,
                },
            )
        await x("CREATE TABLE bench_seeded (scale float)")
        await x(f"INSERT INTO bench_seeded VALUES ({scale})")


async def _reset(engine: Any) -> None:
    """What a run changes: the outbox, and each person's next digest look (as if yesterday's
    digest went out: today's default hour)."""
    nxt = _utc(datetime.combine(MORNING.date(), Rules().morning_digest, tzinfo=TZ))
    async with engine.begin() as c:
        await c.exec_driver_sql("TRUNCATE outbox CASCADE")
        await c.execute(
            sa.text("UPDATE people SET morning_next_at = :m, evening_next_at = :e, prefs = '{}'"),
            {"m": nxt, "e": nxt + timedelta(hours=13)},
        )
    async with engine.connect() as c:
        c2 = await c.execution_options(isolation_level="AUTOCOMMIT")
        await c2.exec_driver_sql("VACUUM ANALYZE")


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) a process on this machine has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _scheduler(url: str, at: str, go: Any, out: Any) -> None:
    async def run() -> tuple[int, float, float, float, float]:
        engine = db.make_engine(url, pool_size=1)  # one connection: one server process
        async with engine.connect() as c:
            backend = (await c.exec_driver_sql("SELECT pg_backend_pid()")).scalar_one()
        scheduler = Scheduler(
            db.make_sessionmaker(engine), FixedClock(datetime.fromisoformat(at)), Rules()
        )
        go.wait()
        started = time.perf_counter()
        cpu0, server0 = time.process_time(), _cpu(backend)
        n = await scheduler.morning_tick()
        cpu, server = time.process_time() - cpu0, _cpu(backend) - server0
        finished = time.perf_counter()
        await engine.dispose()
        return n, started, finished, cpu, server

    out.put(asyncio.run(run()))


def _pct(xs: list[float]) -> str:
    xs = sorted(xs)
    p95 = xs[min(len(xs) - 1, round(0.95 * (len(xs) - 1)))]
    return f"p50 {statistics.median(xs):.1f} ms, p95 {p95:.1f} ms (n={len(xs)})"


async def _tick(sm: Any, at: datetime) -> tuple[float, int, int]:
    """A catch-up tick's digest part at ``at``: ms, rows it read, rows it queued."""
    scheduler = Scheduler(sm, FixedClock(at), Rules())
    async with sm() as s:
        read = (await digest.pending(s, "morning", at, Rules())).count
        read += (await digest.pending(s, "evening", at, Rules())).count
    t0 = time.perf_counter()
    n = await scheduler.morning_tick() + await scheduler.evening_tick()
    return (time.perf_counter() - t0) * 1000, read, n


async def _old_tick_read(sm: Any, at: datetime) -> tuple[float, int]:
    """What the tick before this change read each minute: every morning-role person's
    preferences, then every one of their digest keys."""
    t0 = time.perf_counter()
    async with sm() as s:
        people_ = await active_with_roles(s, digest.MORNING_ROLES)
        day = Rules().local(at).date()
        await absent_keys(s, [keys.digest("morning", r.person_id, day) for r in people_])
    return time.perf_counter() - t0, len(people_)


async def _digests(sm: Any, url: str, engine: Any, compare: bool) -> None:
    at = MORNING
    ms, read, n = await _tick(sm, at - timedelta(minutes=2))
    print(f"catch-up tick at 07:29 (before the hour): {ms:.1f} ms, read {read} rows, queued {n}")
    if compare:
        old_s, old_n = await _old_tick_read(sm, at - timedelta(minutes=2))
        print(
            f"  the tick before this change read {old_n} people's preferences and {old_n} "
            f"keys: {old_s:.2f} s each minute"
        )
    ctx = multiprocessing.get_context("spawn")
    go, out = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_scheduler, args=(url, at.isoformat(), go, out)) for _ in range(2)]
    for p in procs:
        p.start()
    await asyncio.sleep(3)  # both processes import and connect before the clock starts
    t0 = time.perf_counter()
    go.set()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    wall = max(r[2] for r in results) - t0
    cpu, server = sum(r[3] for r in results), sum(r[4] for r in results)
    async with sm() as s:
        total, people_days = (
            await s.execute(
                sa.select(
                    sa.func.count(),
                    sa.func.count(sa.distinct(OutboxMessage.recipient_id)),
                ).where(OutboxMessage.idempotency_key.like("digest:morning:%:20261111"))
            )
        ).one()
    dup = total - people_days
    print(
        f"morning digests, two scheduler processes at once: {total} queued in {wall:.1f} s "
        f"(inserted {[r[0] for r in results]}); duplicate person-days: {dup}"
    )
    print(
        f"  CPU used: schedulers {cpu:.1f} s, their PostgreSQL server processes {server:.1f} s "
        f"(together {cpu + server:.1f} s; on 2 idle cores at least {(cpu + server) / 2:.1f} s); "
        f"load average {os.getloadavg()[0]:.1f}"
    )
    if dup or total != sum(r[0] for r in results):
        raise SystemExit("FAILED: duplicate or lost digests")
    ms, read, n = await _tick(sm, at + timedelta(minutes=1))
    print(f"catch-up tick at 07:32, right after the run: {ms:.1f} ms, read {read} rows, queued {n}")
    ms, read, n = await _tick(sm, at + timedelta(minutes=2))
    print(f"catch-up tick at 07:33: {ms:.1f} ms, read {read} rows, queued {n}")
    # The index still holds the million old entries until (auto)vacuum removes them.
    async with engine.connect() as c:
        c2 = await c.execution_options(isolation_level="AUTOCOMMIT")
        t0 = time.perf_counter()
        await c2.exec_driver_sql("VACUUM people")
        print(f"  VACUUM people (what autovacuum does next): {time.perf_counter() - t0:.1f} s")
    for minute in range(3, 8):
        tick = at + timedelta(minutes=minute)
        ms, read, n = await _tick(sm, tick)
        print(f"catch-up tick at {tick:%H:%M}: {ms:.1f} ms, read {read} rows, queued {n}")
    async with sm() as s, s.begin():
        ids = list(
            await s.scalars(sa.text("SELECT id FROM people ORDER BY id LIMIT 1000 OFFSET 5"))
        )
        for pid in ids:
            await people.set_prefs(s, pid, morning_digest="08:00")
    ms, read, n = await _tick(sm, at + timedelta(minutes=9))
    print(
        f"catch-up tick after 1,000 people changed their hour: {ms:.1f} ms, read {read} rows, "
        f"queued {n} (already had today's)"
    )


async def _scan(sm: Any, repeats: int) -> None:
    rules = Rules()
    idle = START + timedelta(minutes=1)
    busy = START + timedelta(days=2, hours=1, minutes=5)
    async with sm() as s:
        plan = await s.execute(
            sa.text(
                "EXPLAIN SELECT id FROM assignments WHERE remind_at <= :at "
                "ORDER BY remind_at LIMIT 5000"
            ),
            {"at": _utc(busy)},
        )
        print("plan of the due lookup:", " / ".join(r[0].strip() for r in plan))
    for label, at in (("nothing due", idle), ("5,000 due, one batch", busy)):
        found: list[float] = []
        whole: list[float] = []
        queued = 0
        for _ in range(repeats):
            async with sm() as s:
                await s.begin()
                t0 = time.perf_counter()
                due = await reminders.store.due(s, at, reminders.SCAN_BATCH)
                found.append((time.perf_counter() - t0) * 1000)
                t0 = time.perf_counter()
                r = await reminders.enqueue_due_reminders(s, at, rules, max_batches=1)
                whole.append((time.perf_counter() - t0) * 1000)
                queued = r.reminders
                await s.rollback()
        rows = sum(len(g.ids) for g in due)
        print(f"due-reminder lookup, {label} ({rows} rows in {len(due)} groups): {_pct(found)}")
        print(f"  whole scan tick (lookup, plan, enqueue {queued}; rolled back): {_pct(whole)}")


async def run(database_url: str, *, reuse: bool, scale: float, repeats: int, compare: bool) -> None:
    if not database_url.startswith("postgresql"):
        raise SystemExit("--million needs --database-url postgresql+asyncpg://...")
    exists = await _admin(database_url, f"SELECT 1 FROM pg_database WHERE datname = '{NAME}'")
    url = make_url(database_url).set(database=NAME).render_as_string(hide_password=False)
    if exists and reuse:
        seeded = await _admin(url, "SELECT to_regclass('bench_seeded') IS NOT NULL AS ok")
        if seeded[0]["ok"]:  # seeded at another --scale: seed again rather than mislead
            at = await _admin(url, "SELECT scale FROM bench_seeded")
            seeded = [{"ok": bool(at) and at[0]["scale"] == scale}]
        if not seeded[0]["ok"]:
            exists = []
    if exists and not reuse or not exists:
        await _admin(database_url, f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
        await _admin(database_url, f'CREATE DATABASE "{NAME}"')
        exists = []
    engine = db.make_engine(url)
    sm = db.make_sessionmaker(engine)
    try:
        if not exists:
            t0 = time.perf_counter()
            await _seed(engine, scale)
            print(f"seeded in {time.perf_counter() - t0:.0f} s (not counted)")
        t0 = time.perf_counter()
        await _reset(engine)
        print(f"reset and VACUUM ANALYZE in {time.perf_counter() - t0:.0f} s (not counted)")
        async with sm() as s:
            n_people = await s.scalar(sa.text("SELECT count(*) FROM people"))
            n_assign = await s.scalar(sa.text("SELECT count(*) FROM assignments"))
        print(f"backend: postgresql ({NAME}): {n_people} people, {n_assign} assignments")
        await _digests(sm, url, engine, compare)
        await _scan(sm, repeats)
    finally:
        await engine.dispose()
        if not reuse:
            await _admin(database_url, f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
