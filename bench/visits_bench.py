"""Visit tracking at county scale: 本月走访 for one village, county coverage, the monthly ledger.

    python bench/visits_bench.py                      # small (CI): 5,000 households, 50,000 visits
    python bench/visits_bench.py --full               # 100,000 households, 1,000,000 visits
    python bench/visits_bench.py --full --database-url postgresql+asyncpg://postgres@127.0.0.1/cunbot_bench

A demo-like county (townships of villages, 500 households a village, the usual mix of
categories) gets visits spread over ten months, a tenth of them in the measured month. The
PostgreSQL database named must exist; its tables are dropped and rebuilt.
Prints figures; it asserts nothing (targets: village < 20 ms, county < 1 s, xlsx < 30 s / 300 MB).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402

from bot.reports import export_visits  # noqa: E402
from core.rules import Rules, VisitCount  # noqa: E402
from storage import db, visit_summary  # noqa: E402
from storage.models import Base, Household, Person, Region, Visit  # noqa: E402
from storage.readmodels import coverage as store  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
MONTH = "2026-11"
MONTHS = [f"2026-{m:02d}" for m in range(2, 12)]
PER_VILLAGE = 500
VILLAGES_PER_TOWNSHIP = 10
CATEGORIES = [("监测户", 10), ("未脱贫户", 5), ("脱贫不稳定户", 5), ("脱贫户", 40), ("一般户", 40)]
BATCH = 10_000
SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗梁宋郑谢韩唐冯于董萧程曹袁邓许傅沈曾彭吕"
GIVEN = "三女桂芳大山建国秀英玉兰德明小红海涛春花永丽红伟平军华明强芬英梅"


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024 / 1024


class PeakRss:
    """Samples the resident set every 20 ms in a thread (covers memory of C libraries too)."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            self._stop.wait(0.02)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def month_time(month: str, rng: random.Random) -> datetime:
    year, mon = (int(x) for x in month.split("-"))
    local = datetime(
        year, mon, rng.randint(1, 28), rng.randint(8, 18), rng.randint(0, 59), tzinfo=TZ
    )
    return local.astimezone(UTC)


async def build(engine, households: int, visits: int, seed: int = 7) -> tuple[int, list[int]]:
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    villages_n = max(1, households // PER_VILLAGE)
    async with engine.begin() as conn:
        await conn.run_sync(Base.metadata.drop_all)
        await conn.run_sync(Base.metadata.create_all)
        county = (
            await conn.execute(
                sa.insert(Region)
                .values(level="county", name="示范县", code="C1")
                .returning(Region.id)
            )
        ).scalar_one()
        village_ids: list[int] = []
        secretaries: dict[int, int] = {}
        for t in range((villages_n + VILLAGES_PER_TOWNSHIP - 1) // VILLAGES_PER_TOWNSHIP):
            town = (
                await conn.execute(
                    sa.insert(Region)
                    .values(level="township", name=f"乡镇{t:02d}", parent_id=county)
                    .returning(Region.id)
                )
            ).scalar_one()
            for v in range(VILLAGES_PER_TOWNSHIP):
                if len(village_ids) >= villages_n:
                    break
                vid = (
                    await conn.execute(
                        sa.insert(Region)
                        .values(level="village", name=f"村{t:02d}{v:02d}", parent_id=town)
                        .returning(Region.id)
                    )
                ).scalar_one()
                village_ids.append(vid)
                secretaries[vid] = (
                    await conn.execute(
                        sa.insert(Person)
                        .values(
                            name=f"书记{vid}", role="secretary", region_id=vid, prefs={},
                            created_at=now,
                        )
                        .returning(Person.id)
                    )
                ).scalar_one()  # fmt: skip
        cats = [c for c, w in CATEGORIES for _ in range(w)]
        rows = []
        for i in range(households):
            rows.append(
                {
                    "code": f"H{i:07d}",
                    "village_id": village_ids[i % villages_n],
                    "head_name": rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                    "category": rng.choice(cats),
                    "members": rng.randint(1, 6),
                    "active": True,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            if len(rows) >= BATCH:
                await conn.execute(sa.insert(Household), rows)
                rows = []
        if rows:
            await conn.execute(sa.insert(Household), rows)
    checklists = [
        {"water": {"status": "ok", "text": "饮水正常"}, "medical": {"status": "ok", "text": "医保已交"}},
        {"housing": {"status": "problem", "text": "屋顶漏雨"}, "education": {"status": "ok", "text": "正常"}},
        {"income": {"status": "ok", "text": "收入稳定"}},
    ]  # fmt: skip
    batch = []
    for i in range(visits):
        hid = rng.randint(1, households)
        vid = village_ids[(hid - 1) % villages_n]
        month = MONTHS[i % len(MONTHS)]
        at = month_time(month, rng)
        batch.append(
            {
                "household_id": hid, "village_id": vid, "visitor_id": secretaries[vid],
                "visited_at": at, "month": month, "day": at.astimezone(TZ).date(), "checklist": checklists[i % 3],
                "note": "老人身体还行" if i % 5 == 0 else None, "status": "active",
                "created_at": at, "updated_at": at,
            }
        )  # fmt: skip
        if len(batch) >= BATCH:
            async with engine.begin() as conn:
                await conn.execute(sa.insert(Visit), batch)
            batch = []
    if batch:
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Visit), batch)
    # The bulk insert bypassed the ORM: summarize the visits as migration 0014 does.
    async with engine.begin() as conn:
        await visit_summary.rebuild(conn)
    # Fresh statistics and (PostgreSQL) a visibility map, as autovacuum keeps on a live database;
    # without it index-only scans fall back to reading the table.
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )
    return county, village_ids


async def timed(fn, runs: int) -> tuple[float, float]:
    """Median wall time and median CPU time (the CPU figure is steadier on a busy machine)."""
    wall, cpu = [], []
    for _ in range(runs):
        start, c = time.perf_counter(), time.process_time()
        await fn()
        wall.append(time.perf_counter() - start)
        cpu.append(time.process_time() - c)
    return statistics.median(wall), statistics.median(cpu)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--full", action="store_true", help="100,000 households, 1,000,000 visits")
    parser.add_argument("--database-url", default="")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data already in --database-url (no rebuild)"
    )
    args = parser.parse_args()
    if args.full:
        args.households, args.visits = 100_000, 1_000_000
    tmp = tempfile.TemporaryDirectory(prefix="cunbot-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
    engine = db.make_engine(url)
    sm = db.make_sessionmaker(engine)
    rules = Rules(timezone=TZ)
    print(f"backend: {engine.dialect.name}; {args.households:,} households, {args.visits:,} visits")

    start = time.perf_counter()
    if args.reuse:
        async with sm() as s:
            county = await s.scalar(sa.select(Region.id).where(Region.level == "county"))
            village_ids = list(
                await s.scalars(sa.select(Region.id).where(Region.level == "village"))
            )
    else:
        county, village_ids = await build(engine, args.households, args.visits)
        print(f"bulk insert: {time.perf_counter() - start:.1f} s ({len(village_ids)} villages)")

    village = village_ids[len(village_ids) // 2]

    async def village_progress() -> None:  # what 本月走访 runs for a secretary
        async with sm() as s:
            progress = await store.village_progress(s, village, MONTH, rules.quota_policy)
            store.summarize(progress, village, "")
            store.still_due(progress)

    async def county_coverage() -> None:
        async with sm() as s:
            await store.coverage_by_village(s, village_ids, MONTH, rules.quota_policy)

    await village_progress()
    wall, cpu = await timed(village_progress, 21)
    print(
        f"village 本月走访 ({PER_VILLAGE} households): {wall * 1000:.1f} ms "
        f"(CPU {cpu * 1000:.1f} ms; median of 21)"
    )
    await county_coverage()
    wall, cpu = await timed(county_coverage, 5)
    print(
        f"county monthly coverage ({len(village_ids)} villages): {wall * 1000:.0f} ms "
        f"(CPU {cpu * 1000:.0f} ms; median of 5)"
    )
    per_visit = replace(rules.quota_policy, count=VisitCount.VISIT)

    async def county_coverage_per_visit() -> None:  # CUNBOT_VISIT_COUNT=visit: no DISTINCT day
        async with sm() as s:
            await store.coverage_by_village(s, village_ids, MONTH, per_visit)

    wall, cpu = await timed(county_coverage_per_visit, 5)
    print(
        f"  the same, each visit counted (CUNBOT_VISIT_COUNT=visit): {wall * 1000:.0f} ms "
        f"(CPU {cpu * 1000:.0f} ms; median of 5)"
    )
    load = os.getloadavg()[0]
    print(f"load average {load:.1f} on {os.cpu_count()} CPUs (wall times stretch when it is high)")

    out = Path(tmp.name) / "ledger.xlsx"
    base = rss_mb()
    with PeakRss() as peak:
        start, cpu = time.perf_counter(), time.process_time()
        async with sm() as s:
            result = await export_visits(s, county, MONTH, rules, out)
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"county xlsx ledger: {result.visits:,} visit rows, {result.problems} problems, "
        f"{result.villages} villages in {elapsed:.1f} s (CPU {cpu:.1f} s); file {out.stat().st_size / 1e6:.1f} MB; "
        f"peak RSS {peak.peak:.0f} MB (+{peak.peak - base:.0f} MB over {base:.0f} MB before export)"
    )
    await engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
