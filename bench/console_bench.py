"""The county console's server time, measured with a real HTTP client against the real app:
the overview (概览), one task's village view, the household search and the visit pages (走访),
for a county staff member (the whole county) and a township officer.

    python bench/console_bench.py                 # small (CI): 5,000 households, 50,000 visits
    CUNBOT_BENCH_DATABASE_URL=postgresql+asyncpg://postgres@127.0.0.1:5432/postgres \
        python bench/console_bench.py --full      # full size; builds the county (minutes)
    ... python bench/console_bench.py --full --reuse   # measures again on the county built

The county is visits_bench's (500 households a village, ten months of visits) plus 20 county
tasks sent to every village, with their assignments in every state. The PostgreSQL database
named must exist; its tables are dropped and rebuilt (not with --reuse, which keeps what an
earlier run of the same size built). Prints p50/p95; asserts nothing
(target: each page < 300 ms p95 on PostgreSQL at full size).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402
import sqlalchemy as sa  # noqa: E402
from aiohttp.test_utils import TestServer  # noqa: E402
from visits_bench import build  # noqa: E402

from bot.app import create_app  # noqa: E402
from bot.config import load_config  # noqa: E402
from core.clock import FixedClock  # noqa: E402
from services import console_auth  # noqa: E402
from storage import db, people  # noqa: E402
from storage.models import Assignment, Person, Region, Task  # noqa: E402

NOW = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
TASKS = 20
STATES = ("pending", "acked", "submitted", "approved", "returned")


async def add_tasks(engine, county: int, village_ids: list[int]) -> tuple[int, int, int]:
    """20 tasks to every village; a county staff member and a township officer."""
    async with engine.begin() as conn:
        staff = (
            await conn.execute(
                sa.insert(Person)
                .values(
                    name="县干部", role="county_staff", region_id=county, prefs={}, created_at=NOW
                )
                .returning(Person.id)
            )
        ).scalar_one()
        town = await conn.scalar(sa.select(Region.parent_id).where(Region.id == village_ids[0]))
        officer = (
            await conn.execute(
                sa.insert(Person)
                .values(
                    name="乡干部", role="township_staff", region_id=town, prefs={}, created_at=NOW
                )
                .returning(Person.id)
            )
        ).scalar_one()
        task_id = number = 0
        for t in range(TASKS):
            created = NOW - timedelta(days=t)
            task_id = (
                await conn.execute(
                    sa.insert(Task)
                    .values(
                        kind="task", number=t + 1, title=f"任务{t}", body="", created_by=staff,
                        county_id=county,
                        deadline=created + timedelta(days=5), reminder_offsets=[],
                        evidence_required=False, scope={"county": True}, status="active",
                        created_at=created,
                    )
                    .returning(Task.id)
                )
            ).scalar_one()  # fmt: skip
            number = t + 1
            await conn.execute(
                sa.insert(Assignment),
                [
                    {
                        "task_id": task_id, "village_id": vid, "status": STATES[(t + i) % 5],
                        "deadline": created + timedelta(days=5), "evidence": {},
                        "created_at": created, "updated_at": created,
                    }
                    for i, vid in enumerate(village_ids)
                ],
            )  # fmt: skip
    return staff, officer, number


async def existing(engine) -> tuple[int, list[int], int, int, int]:
    """What an earlier run built: the county, its villages, the two people, the last task."""
    async with engine.connect() as conn:
        county = await conn.scalar(sa.select(Region.id).where(Region.level == "county"))
        villages = list(await conn.scalars(sa.select(Region.id).where(Region.level == "village")))
        staff = await conn.scalar(sa.select(Person.id).where(Person.role == "county_staff"))
        officer = await conn.scalar(sa.select(Person.id).where(Person.role == "township_staff"))
        task_id = await conn.scalar(sa.select(sa.func.max(Task.number)))
    return county, villages, staff, officer, task_id


async def sign_in(sm, client: aiohttp.ClientSession, base: str, person_id: int) -> None:
    async with sm() as s, s.begin():
        person = await people.get(s, person_id)
        assert person is not None
        link = await console_auth.issue_link(s, person, now=NOW, public_url=base, via="cli")
    async with client.get(link.url) as resp:
        page = await resp.text()
    pre = page.split('name="pre" value="', 1)[1].split('"', 1)[0]
    token = link.url.split("t=", 1)[1]
    async with client.post(
        base + "/console/login", data={"t": token, "pre": pre}, allow_redirects=False
    ) as resp:
        assert resp.status == 303, resp.status


async def measure(client: aiohttp.ClientSession, url: str, runs: int) -> tuple[float, float]:
    times = []
    for _ in range(runs + 1):
        start = time.perf_counter()
        async with client.get(url) as resp:
            await resp.read()
            assert resp.status == 200, (url, resp.status)
        times.append(time.perf_counter() - start)
    times = sorted(times[1:])  # the first request warms caches
    return statistics.median(times), times[max(0, int(len(times) * 0.95) - 1)]


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--households", type=int, default=5_000)
    parser.add_argument("--visits", type=int, default=50_000)
    parser.add_argument("--full", action="store_true", help="100,000 households, 1,000,000 visits")
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CUNBOT_BENCH_DATABASE_URL", ""),
        help="default: $CUNBOT_BENCH_DATABASE_URL, else a temporary SQLite file",
    )
    parser.add_argument(
        "--reuse", action="store_true", help="keep the data already in --database-url (no rebuild)"
    )
    args = parser.parse_args()
    if args.full:
        args.households, args.visits = 100_000, 1_000_000
    tmp = tempfile.TemporaryDirectory(prefix="cunbot-bench-")
    url = args.database_url or f"sqlite+aiosqlite:///{tmp.name}/bench.sqlite3"
    engine = db.make_engine(url)
    start = time.perf_counter()
    if args.reuse:
        county, village_ids, staff, officer, task_id = await existing(engine)
    else:
        county, village_ids = await build(engine, args.households, args.visits)
        staff, officer, task_id = await add_tasks(engine, county, village_ids)
    built = "reused" if args.reuse else f"built in {time.perf_counter() - start:.0f} s"
    print(
        f"backend: {engine.dialect.name}; {len(village_ids)} villages, {TASKS} tasks "
        f"({args.households:,} households, {args.visits:,} visits asked for); {built}"
    )
    sm = db.make_sessionmaker(engine)
    config = load_config(database_url=url, var_dir=Path(tmp.name), secret_key="bench")
    app = create_app(config, clock=FixedClock(NOW), auto_upgrade=False, run_workers=False)
    server = TestServer(app, host="127.0.0.1", port=0)
    await server.start_server()
    base = str(server.make_url("")).rstrip("/")
    pages = {
        "overview": "/console",
        "task village view": f"/console/tasks/{task_id}",
        "household search": "/console/households?q=王",
        "task list": "/console/tasks",
        "visit list": "/console/visits",
        "visits, problems": "/console/visits?problems=1",
        "visit photos": "/console/visits/photos",
        "visit map data": "/console/visits/map.json",
    }
    try:
        for who, person_id in (("county staff", staff), ("township officer", officer)):
            async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
                await sign_in(sm, client, base, person_id)
                for name, path in pages.items():
                    p50, p95 = await measure(client, base + path, args.runs)
                    print(
                        f"{who:16} {name:18} p50 {p50 * 1000:6.0f} ms  p95 {p95 * 1000:6.0f} ms "
                        f"({args.runs} requests)"
                    )
    finally:
        await server.close()
        await engine.dispose()
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    tmp.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
