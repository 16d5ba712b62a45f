"""cunbot demo | invite | person deactivate | households import.

Each command upgrades the schema first on SQLite (the embedded default), like ``run``.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import datetime
from pathlib import Path

from bot import demo
from bot.commands import open_db
from bot.config import Config
from bot.household_import import import_file
from core.clock import SystemClock
from core.errors import DomainError
from core.messages import paged
from core.roles import ROLE_LEVEL, ROLE_ZH, ROLES, Role
from services import people as people_service
from storage import people, regions
from storage.regions import LEVEL_ZH

MAX_LISTED = 200  # error and candidate lists are bounded


def add_parsers(sub: argparse._SubParsersAction) -> None:
    d = sub.add_parser("demo", help="create the demo county and print invite codes")
    d.add_argument("--json", action="store_true", help="print a JSON list")
    d.set_defaults(func=cmd_demo)

    inv = sub.add_parser("invite", help="make a one-time invite code")
    inv.add_argument("--role", required=True, help=people_service.roles_text())
    inv.add_argument("--region", required=True, help="region name, code or id")
    inv.add_argument("--name", help="the person's name, shown after binding")
    inv.add_argument("--json", action="store_true")
    inv.set_defaults(func=cmd_invite)

    person = sub.add_parser("person", help="people")
    psub = person.add_subparsers(dest="person_command", required=True)
    off = psub.add_parser("deactivate", help="stop a person from using the bot and the API")
    off.add_argument("--person", required=True, help="person id or exact name")
    off.set_defaults(func=cmd_person_deactivate)

    hh = sub.add_parser("households", help="household roster")
    hsub = hh.add_subparsers(dest="households_command", required=True)
    imp = hsub.add_parser("import", help="import a CSV or XLSX roster (all-or-nothing)")
    imp.add_argument("file", type=Path)
    imp.set_defaults(func=cmd_households_import)


def _local(config: Config, at: datetime) -> str:
    return config.rules.local(at).strftime("%Y-%m-%d %H:%M")


async def cmd_demo(config: Config, args: argparse.Namespace) -> int:
    now = SystemClock().now()
    async with open_db(config) as sm, sm() as session, session.begin():
        cast = await demo.seed(session, now)
        out = []
        for p in cast:
            invite = await people_service.invite(
                session, None, role=p.role, region_id=p.region_id, now=now, person_id=p.person_id
            )
            out.append(
                {
                    "name": p.name,
                    "role": p.role,
                    "region": p.region,
                    "invite_code": invite.code,
                    "role_zh": ROLE_ZH[Role(p.role)],
                    "region_path": p.region_path,
                    "expires_at": invite.expires_at.isoformat(),
                }
            )
    if args.json:
        print(json.dumps(out, ensure_ascii=False, indent=1))
        return 0
    expires = _local(config, now + people.INVITE_TTL)
    print(f"示范数据已就绪：{demo.COUNTY}，3 个乡镇，12 个村，600 户。")
    print(f"邀请码（每个只能用一次，{expires} 前有效）：")
    for row in out:
        print(f"  {row['invite_code']}  {row['name']}  {row['role_zh']}  {row['region_path']}")
    print(f"打开 {config.public_url}/chat ，发送「绑定 邀请码」即可开始。")
    print(
        f"县乡工作台：绑定后在聊天中发送「后台」，或运行 "
        f"cunbot login-link --person {demo.COUNTY_STAFF[0]}（乡镇：{demo.TOWNSHIP_STAFF[0]}）。"
    )
    return 0


def _role(text: str) -> Role | None:
    if text in ROLES:
        return Role(text)
    return next((r for r, zh in ROLE_ZH.items() if zh == text), None)


async def cmd_invite(config: Config, args: argparse.Namespace) -> int:
    role = _role(args.role.strip())
    if role is None:
        print(
            people_service.UNKNOWN_ROLE.format(role=args.role, roles=people_service.roles_text()),
            file=sys.stderr,
        )
        return 2
    level = ROLE_LEVEL[role]
    now = SystemClock().now()
    async with open_db(config) as sm, sm() as session, session.begin():
        found = await regions.find(session, args.region, level=level)
        if len(found) != 1:
            if not found:
                head = f"找不到{LEVEL_ZH[level]}「{args.region}」。"
                candidates = await regions.find(session, "", level=level)
            else:
                head = (
                    f"「{args.region}」对应多个{LEVEL_ZH[level]}，请用编号指定（--region 编号）："
                )
                candidates = found
            print(head, file=sys.stderr)
            if candidates:
                if not found:
                    print(f"可选的{LEVEL_ZH[level]}：", file=sys.stderr)
                lines = [f"  {r.id}  {await regions.path_name(session, r.id)}" for r in candidates]
                for line in paged(lines, MAX_LISTED, "  ……还有 {n} 个"):
                    print(line, file=sys.stderr)
            return 1
        region = found[0]
        try:
            invite = await people_service.invite(
                session, None, role=role, region_id=region.id, now=now, name=args.name
            )
        except DomainError as refusal:
            print(refusal.message, file=sys.stderr)
            return 1
        path = await regions.path_name(session, region.id)
    if args.json:
        print(
            json.dumps(
                {
                    "invite_code": invite.code,
                    "role": role,
                    "region": region.name,
                    "expires_at": invite.expires_at.isoformat(),
                    "region_path": path,
                    "name": args.name,
                },
                ensure_ascii=False,
            )
        )
        return 0
    who = f"{args.name}，" if args.name else ""
    print(f"邀请码：{invite.code}（{who}{ROLE_ZH[role]}，{path}）")
    print(f"有效期至 {_local(config, invite.expires_at)}，只能使用一次。")
    print(f"在聊天中发送「绑定 {invite.code}」完成绑定。")
    return 0


async def cmd_households_import(config: Config, args: argparse.Namespace) -> int:
    path: Path = args.file

    def progress(stage: str, done: int, total: int) -> None:
        of = f"/{total}" if total else ""
        print(f"{stage} {done}{of} 行", file=sys.stderr, flush=True)

    async with open_db(config) as sm:
        report = await import_file(sm, path, SystemClock().now(), progress)
    if not report.ok:
        print(f"导入失败，没有写入任何数据。共 {len(report.errors)} 处错误：", file=sys.stderr)
        for line in paged([f"  {err}" for err in report.errors], MAX_LISTED, "  ……还有 {n} 条"):
            print(line, file=sys.stderr)
        return 1
    print(
        f"导入完成：共 {report.rows} 户，新增 {report.created}，更新 {report.updated}，"
        f"未变 {report.unchanged}。"
    )
    return 0


async def cmd_person_deactivate(config: Config, args: argparse.Namespace) -> int:
    now = SystemClock().now()
    async with open_db(config, upgrade=False) as sm, sm() as session, session.begin():
        found = await people.find(session, args.person)
        if len(found) != 1:
            if found:
                ids = "、".join(str(p.id) for p in found[:10])
                print(f"有 {len(found)} 个人叫「{args.person}」，请用编号：{ids}", file=sys.stderr)
            else:
                print(f"找不到人员「{args.person}」。", file=sys.stderr)
            return 1
        try:
            person = await people_service.deactivate(session, None, found[0].id, now=now)
        except DomainError as refusal:
            print(refusal.message, file=sys.stderr)
            return 1
    print(f"已停用 {person.name}（编号 {person.id}，{person.role_zh}，{person.region_name}）。")
    return 0
