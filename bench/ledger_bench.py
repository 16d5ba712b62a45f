"""The county's monthly ledger workbook at full size: 走访台账 with signed photo links, 问题清单,
覆盖率 and 任务完成情况表, written by the same code the download link runs.

    python bench/ledger_bench.py                 # 100,000 visit rows in the month
    python bench/ledger_bench.py --small         # 5,000 (CI)
    python bench/ledger_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/cunbot_bench

A county of 100 villages (50,000 households) gets its visits all in the measured month; a third
of them carry one or two photos (each a signed link in the sheet), one in twenty found a
problem, and 30 tasks went to every village in every state. The PostgreSQL database named
must exist; its tables are dropped and rebuilt. Prints figures; it asserts nothing (target:
< 30 s and < 300 MB peak RSS for 100,000 rows).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa  # noqa: E402
from visits_bench import TZ, PeakRss, build, month_time, rss_mb  # noqa: E402

from bot.reports import export_visits  # noqa: E402
from bot.web.signed import media_key, photo_signer  # noqa: E402
from core.rules import Rules  # noqa: E402
from storage import db, visit_summary  # noqa: E402
from storage.models import (  # noqa: E402
    Assignment,
    Household,
    Person,
    Photo,
    Problem,
    Task,
    Visit,
)

MONTH = "2026-11"
HOUSEHOLDS = 50_000
TASKS = 30
STATUSES = ("pending", "acked", "submitted", "approved", "returned")
BATCH = 5_000


async def add_month(engine, county: int, visits: int, seed: int = 11) -> None:
    """``visits`` visits in MONTH with photos and problems, and TASKS tasks to every village."""
    rng = random.Random(seed)
    now = datetime(2026, 11, 1, tzinfo=UTC)
    async with engine.begin() as conn:
        homes = (await conn.execute(sa.select(Household.id, Household.village_id))).all()
        secretary = dict(
            (await conn.execute(sa.select(Person.region_id, Person.id))).all()  # one a village
        )
        staff = (
            await conn.execute(
                sa.insert(Person)
                .values(
                    name="县干部", role="county_staff", region_id=county, prefs={}, created_at=now
                )
                .returning(Person.id)
            )
        ).scalar_one()
    notes = ["老人身体还行", "=SUM(A1:A9) 屋顶漏雨", None, None, "电话13800001234"]
    visit_id = photo_id = problem_number = 0
    for start in range(0, visits, BATCH):
        rows, photos, problems = [], [], []
        for _ in range(min(BATCH, visits - start)):
            visit_id += 1
            hid, vid = homes[rng.randrange(len(homes))]
            at = month_time(MONTH, rng)
            rows.append(
                {
                    "id": visit_id, "household_id": hid, "village_id": vid,
                    "visitor_id": secretary[vid], "visited_at": at, "month": MONTH,
                    "day": at.astimezone(TZ).date(), "status": "active",
                    "checklist": {"water": {"status": "ok", "text": "饮水正常"}},
                    "note": rng.choice(notes), "created_at": at, "updated_at": at,
                }
            )  # fmt: skip
            for _ in range(rng.choice((0, 0, 0, 0, 1, 2))):
                photo_id += 1
                photos.append(
                    {
                        "sha256": f"{photo_id:064x}", "path": f"{photo_id % 256:02x}/{photo_id:064x}.jpg",
                        "mime": "image/jpeg", "size": 180_000, "width": 1600, "height": 1200,
                        "uploaded_by": secretary[vid], "visit_id": visit_id, "created_at": at,
                    }
                )  # fmt: skip
            if rng.random() < 0.05:
                problem_number += 1  # the county's public numbers, 1.. without gaps
                problems.append(
                    {
                        "county_id": county, "number": problem_number,
                        "household_id": hid, "village_id": vid, "visit_id": visit_id,
                        "kind": "住房安全", "description": "屋顶漏雨", "status": "open",
                        "found_at": at,
                    }
                )  # fmt: skip
        async with engine.begin() as conn:
            await conn.execute(sa.insert(Visit), rows)
            if photos:
                await conn.execute(sa.insert(Photo), photos)
            if problems:
                await conn.execute(sa.insert(Problem), problems)
    async with engine.begin() as conn:
        for t in range(TASKS):
            deadline = now + timedelta(days=5 + t)
            task = (
                await conn.execute(
                    sa.insert(Task)
                    .values(
                        kind="task", number=t + 1, title=f"任务{t}", body="", created_by=staff,
                        county_id=county, deadline=deadline, reminder_offsets=[],
                        evidence_required=False, scope={}, status="active", created_at=now,
                    )
                    .returning(Task.id)
                )
            ).scalar_one()  # fmt: skip
            history = [{"at": now.isoformat(), "by": staff, "action": "approved"}]
            await conn.execute(
                sa.insert(Assignment),
                [
                    {
                        "task_id": task, "village_id": vid, "assignee_id": sid,
                        "status": STATUSES[(t + vid) % len(STATUSES)], "deadline": deadline,
                        "evidence": {"history": history}, "created_at": now, "updated_at": now,
                    }
                    for vid, sid in secretary.items()
                ],
            )  # fmt: skip
    async with engine.begin() as conn:  # the bulk insert bypassed the ORM's visit summaries
        await visit_summary.rebuild(conn)
    if engine.dialect.name == "postgresql":  # the explicit visit ids moved past the sequence
        async with engine.begin() as conn:
            await conn.execute(
                sa.text("SELECT setval('visits_id_seq', (SELECT max(id) FROM visits))")
            )
    async with engine.connect() as conn:
        conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
        await conn.execute(
            sa.text("VACUUM ANALYZE" if engine.dialect.name == "postgresql" else "ANALYZE")
        )


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--visits", type=int, default=100_000)
    parser.add_argument("--small", action="store_true", help="5,000 visit rows (CI)")
    parser.add_argument("--database-url", default="")
    args = parser.parse_args()
    visits, households = (5_000, 5_000) if args.small else (args.visits, HOUSEHOLDS)
    tmp = tempfile.TemporaryDirectory(prefix="cunbot-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
    engine = db.make_engine(url)
    sm = db.make_sessionmaker(engine)
    rules = Rules(timezone=TZ)
    print(
        f"backend: {engine.dialect.name}; {households:,} households, {visits:,} visits in {MONTH}"
    )
    start = time.perf_counter()
    county, village_ids = await build(engine, households, 0)
    await add_month(engine, county, visits)
    print(f"bulk insert: {time.perf_counter() - start:.1f} s ({len(village_ids)} villages)")

    made = datetime(2026, 11, 30, 12, tzinfo=UTC)
    link = photo_signer(
        media_key(b"bench secret"), "https://cunbot.example.cn", 1, made, timedelta(hours=72)
    )

    out = Path(tmp.name) / "ledger.xlsx"
    base = rss_mb()
    with PeakRss() as peak:
        start, cpu = time.perf_counter(), time.process_time()
        async with sm() as s:
            result = await export_visits(
                s, county, MONTH, rules, out, now=made, prepared_by="县干部", photo_link=link
            )
        elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    print(
        f"county xlsx ledger: {result.visits:,} visit rows, {result.problems:,} problems, "
        f"{result.villages} villages, {result.tasks:,} task rows in {elapsed:.1f} s "
        f"(CPU {cpu:.1f} s); file {out.stat().st_size / 1e6:.1f} MB"
    )
    print(
        f"peak RSS {peak.peak:.0f} MB (+{peak.peak - base:.0f} MB over {base:.0f} MB before "
        f"export); load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs"
    )
    await engine.dispose()
    tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
