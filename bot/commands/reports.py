"""cunbot report visits --month 2026-11 --region 示范县 --out ledger.xlsx|.csv"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.commands import open_db
from bot.config import Config
from bot.reports import export_visits
from core.clock import SystemClock
from storage import regions
from storage.visits import month_of


def add_parsers(sub: argparse._SubParsersAction) -> None:
    report = sub.add_parser("report", help="ledgers and exports")
    rsub = report.add_subparsers(dest="report_command", required=True)
    visits = rsub.add_parser("visits", help="走访台账 + 问题清单 + 覆盖率 (xlsx or csv)")
    visits.add_argument("--month", help="YYYY-MM, local time (default: this month)")
    visits.add_argument("--region", required=True, help="county, township or village name/code/id")
    visits.add_argument("--out", required=True, type=Path, help="FILE.xlsx or FILE.csv")
    visits.set_defaults(func=cmd_report_visits)


def _check_month(value: str) -> bool:
    parts = value.split("-")
    return (
        len(parts) == 2 and parts[0].isdigit() and parts[1].isdigit() and 1 <= int(parts[1]) <= 12
    )


async def cmd_report_visits(config: Config, args: argparse.Namespace) -> int:
    rules = config.rules
    month = args.month or month_of(SystemClock().now(), rules.timezone)
    if not _check_month(month):
        print("月份格式不对，请写成 2026-11", file=sys.stderr)
        return 2
    month = "{:04d}-{:02d}".format(*(int(x) for x in month.split("-")))
    if args.out.suffix.lower() not in (".xlsx", ".csv"):
        print("输出文件必须是 .xlsx 或 .csv", file=sys.stderr)
        return 2
    async with open_db(config, upgrade=False) as sessions, sessions() as session:
        found = await regions.find(session, args.region)
        if len(found) != 1:
            names = "、".join(r.name for r in found[:10]) or "无"
            print(
                f"地区「{args.region}」找到 {len(found)} 个（{names}），请写得更准确",
                file=sys.stderr,
            )
            return 2
        result = await export_visits(session, found[0].id, month, rules, args.out)
    print(
        f"{found[0].name} {month}: 走访 {result.visits} 条, 问题 {result.problems} 条, "
        f"村 {result.villages} 个"
    )
    for path in result.paths:
        print(path)
    return 0
