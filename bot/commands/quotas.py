"""cunbot quota show|set|clear: a region's own monthly visit quotas (audited)."""

from __future__ import annotations

import argparse
import sys

from bot.commands import open_db
from bot.config import Config
from core.clock import SystemClock
from core.errors import DomainError
from core.rules import HOUSEHOLD_CATEGORIES
from services import quotas
from storage import regions
from storage.session import AsyncSession


def add_parsers(sub: argparse._SubParsersAction) -> None:
    quota = sub.add_parser("quota", help="monthly visit quotas per household category and region")
    qsub = quota.add_subparsers(dest="quota_command", required=True)
    show = qsub.add_parser("show", help="the quotas that hold in a region, and where from")
    show.add_argument("--region", required=True, help="county, township or village name/code/id")
    show.set_defaults(func=cmd_quota_show)
    put = qsub.add_parser("set", help="a region's own quota for one category")
    put.add_argument("--region", required=True, help="county, township or village name/code/id")
    put.add_argument("--category", required=True, help="、".join(HOUSEHOLD_CATEGORIES))
    put.add_argument("--per-month", required=True, type=int, help="visits a month, 0-31")
    put.set_defaults(func=cmd_quota_set)
    clear = qsub.add_parser("clear", help="remove a region's own quota (back to the default)")
    clear.add_argument("--region", required=True, help="county, township or village name/code/id")
    clear.add_argument("--category", required=True, help="、".join(HOUSEHOLD_CATEGORIES))
    clear.set_defaults(func=cmd_quota_clear)


async def _region(session: AsyncSession, name: str) -> int | None:
    found = await regions.find(session, name)
    if len(found) == 1:
        return found[0].id
    names = "、".join(f"{r.id} {r.name}" for r in found[:10]) or "无"
    print(f"地区「{name}」找到 {len(found)} 个（{names}），请写得更准确", file=sys.stderr)
    return None


async def cmd_quota_show(config: Config, args: argparse.Namespace) -> int:
    rules = config.rules
    async with open_db(config) as sm, sm() as session:
        region_id = await _region(session, args.region)
        if region_id is None:
            return 2
        lines = await quotas.quotas_of(session, region_id, rules.visit_quotas)
        path = await regions.path_name(session, region_id)
    per = "每天最多计 1 次" if rules.visit_count == "day" else "每次走访都计"
    print(f"{path} 每户每月走访次数（{per}）：")
    for line in lines:
        print(f"  {line.category}  {line.per_month}  {line.source or '默认'}")
    return 0


async def _change(config: Config, args: argparse.Namespace, per_month: int | None) -> int:
    async with open_db(config) as sm, sm() as session, session.begin():
        region_id = await _region(session, args.region)
        if region_id is None:
            return 2
        try:
            change = await quotas.set_quota(
                session, region_id, args.category.strip(), per_month, now=SystemClock().now()
            )
        except DomainError as refusal:
            print(refusal.message, file=sys.stderr)
            return 2
    before = "默认" if change.before is None else change.before
    after = "默认" if change.after is None else change.after
    print(f"{change.region.name} {change.category}：每月 {before} → {after}")
    return 0


async def cmd_quota_set(config: Config, args: argparse.Namespace) -> int:
    return await _change(config, args, args.per_month)


async def cmd_quota_clear(config: Config, args: argparse.Namespace) -> int:
    return await _change(config, args, None)
