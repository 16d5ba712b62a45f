"""Household roster import speed: write a CSV of N rows, import it, import it again.

python bench/households_import.py            # 200,000 rows (the import limit)
python bench/households_import.py --small    # 2,000 rows, for CI
python bench/households_import.py --database-url postgresql+asyncpg://...  (an empty DB)
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.household_import import import_file  # noqa: E402
from core.clock import SystemClock  # noqa: E402
from core.rules import HOUSEHOLD_CATEGORIES  # noqa: E402
from storage import db, regions  # noqa: E402
from storage.households import COLUMNS  # noqa: E402


async def main(rows: int, url: str | None) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        url = url or f"sqlite+aiosqlite:///{tmp}/bench.sqlite3"
        engine = db.make_engine(url)
        await db.upgrade(engine)
        sm = db.make_sessionmaker(engine)
        now = SystemClock().now()
        async with sm() as s, s.begin():
            county = await regions.add(s, "county", "基准县")
            towns = []
            for t in range(10):
                town = await regions.add(s, "township", f"镇{t}", county.id)
                for v in range(30):
                    await regions.add(s, "village", f"村{v}", town.id)
                towns.append(town.name)
        path = Path(tmp) / "roster.csv"
        with path.open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(COLUMNS)
            for i in range(rows):
                w.writerow(
                    [
                        f"B{i:07d}",
                        f"户主{i}",
                        towns[i % 10],
                        f"村{(i // 10) % 30}",
                        HOUSEHOLD_CATEGORIES[i % len(HOUSEHOLD_CATEGORIES)],
                        str(1 + i % 6),
                        "",
                        "13800000000",
                    ]
                )
        for label in ("first import", "re-import (unchanged)"):
            start = time.perf_counter()
            report = await import_file(sm, path, now)
            took = time.perf_counter() - start
            assert report.ok, report.errors[:3]
            print(
                f"{label}: {rows} rows in {took:.2f} s ({rows / took:,.0f} rows/s); "
                f"created {report.created}, updated {report.updated}, unchanged {report.unchanged}"
            )
        await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--small", action="store_true")
    parser.add_argument("--database-url")
    args = parser.parse_args()
    asyncio.run(main(2_000 if args.small else args.rows, args.database_url))
