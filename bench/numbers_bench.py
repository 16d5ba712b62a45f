"""Public numbers under load: many writers creating numbered rows in one county at once.

Each writer opens its own transaction per row, takes the county's next problem number
(storage.counters: one ``INSERT ... ON CONFLICT DO UPDATE ... RETURNING``) and writes a
rectification task carrying it, the way a visit that finds a problem does. Every writer waits
on the same counter row, so this is the worst case (one county, one series). Prints the rate,
the per-row latency and a check that the numbers are exactly 1..N, each once.

    python bench/numbers_bench.py                       # SQLite, 8 writers x 50 rows
    python bench/numbers_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/postgres
    python bench/numbers_bench.py --writers 32 --rows 200 --database-url ...

On PostgreSQL a private database is made and dropped.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import sqlalchemy as sa  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.numbers import Series  # noqa: E402
from storage import counters, db  # noqa: E402
from storage import tasks as task_store  # noqa: E402
from storage.models import Base, Person, Region, Task  # noqa: E402

NOW = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


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


async def _seed(sm) -> tuple[int, int]:
    async with sm() as s, s.begin():
        county = Region(level="county", name="基准县")
        s.add(county)
        await s.flush()
        person = Person(name="书记", role="secretary", region_id=county.id, created_at=NOW)
        s.add(person)
        await s.flush()
        return county.id, person.id


async def _writer(sm, county: int, person: int, rows: int, latencies: list[float]) -> None:
    for _ in range(rows):
        t0 = time.perf_counter()
        async with sm() as s, s.begin():
            number = await counters.next_number(s, county, Series.PROBLEM)
            await task_store.insert_task(
                s, kind="rectify", title="整改", created_by=person, county_id=county, now=NOW,
                number=number,
            )  # fmt: skip
        latencies.append(time.perf_counter() - t0)


async def run(url: str, writers: int, rows: int) -> None:
    engine = db.make_engine(url, pool_size=min(writers, 20))
    try:
        async with engine.begin() as conn:
            await conn.run_sync(Base.metadata.create_all)
        sm = db.make_sessionmaker(engine)
        county, person = await _seed(sm)
        latencies: list[float] = []
        t0 = time.perf_counter()
        await asyncio.gather(
            *(_writer(sm, county, person, rows, latencies) for _ in range(writers))
        )
        wall = time.perf_counter() - t0
        async with sm() as s:
            numbers = list(await s.scalars(sa.select(Task.number).order_by(Task.number)))
        total = writers * rows
        ms = sorted(x * 1000 for x in latencies)
        print(f"backend: {make_url(url).get_backend_name()}, {writers} writers x {rows} rows")
        print(f"numbered rows: {total} in {wall:.2f} s = {total / wall:,.0f} rows/s")
        print(
            f"per row: p50 {statistics.median(ms):.1f} ms, p99 {ms[int(len(ms) * 0.99) - 1]:.1f} ms"
        )
        ok = numbers == list(range(1, total + 1))
        print(f"numbers exactly 1..{total}, each once: {'yes' if ok else 'NO'}")
        if not ok:
            raise SystemExit(1)
    finally:
        await engine.dispose()


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--database-url",
        default=os.environ.get("CUNBOT_BENCH_DATABASE_URL", ""),
        help="PostgreSQL server URL (a private DB is made); SQLite when empty",
    )
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--rows", type=int, default=50, help="rows per writer")
    args = parser.parse_args()
    if args.database_url.startswith("postgresql"):
        name = f"cunbot_bench_{os.getpid()}_{uuid.uuid4().hex[:6]}"
        await _admin(args.database_url, f'CREATE DATABASE "{name}"')
        url = make_url(args.database_url).set(database=name).render_as_string(hide_password=False)
        try:
            await run(url, args.writers, args.rows)
        finally:
            await _admin(args.database_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite+aiosqlite:///{tmp}/bench.sqlite3", args.writers, args.rows)


if __name__ == "__main__":
    asyncio.run(main())
