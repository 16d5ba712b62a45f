"""cunbot token create --person ID_OR_NAME | cunbot token revoke --person ID_OR_NAME."""

from __future__ import annotations

import argparse
import sys

from bot.commands import open_db
from bot.config import Config
from core.clock import SystemClock
from core.errors import DomainError
from services import tokens
from storage import people
from storage.people import PersonDTO
from storage.session import AsyncSession


def add_parsers(sub: argparse._SubParsersAction) -> None:
    token = sub.add_parser("token", help="API tokens for county staff")
    tsub = token.add_subparsers(dest="token_command", required=True)
    create = tsub.add_parser("create", help="make a bearer token (shown once)")
    create.add_argument("--person", required=True, help="person id or exact name")
    create.set_defaults(func=cmd_token_create)
    revoke = tsub.add_parser("revoke", help="revoke every token of a person")
    revoke.add_argument("--person", required=True, help="person id or exact name")
    revoke.set_defaults(func=cmd_token_revoke)


async def _person(who: str, session: AsyncSession) -> PersonDTO | None:
    found = await people.find(session, who)
    if not found:
        print(f"找不到人员「{who}」。", file=sys.stderr)
        return None
    if len(found) > 1:
        ids = "、".join(str(p.id) for p in found[:10])
        print(f"有 {len(found)} 个人叫「{who}」，请用编号：{ids}", file=sys.stderr)
        return None
    return found[0]


async def cmd_token_create(config: Config, args: argparse.Namespace) -> int:
    async with open_db(config, upgrade=False) as sessions, sessions() as session, session.begin():
        person = await _person(args.person, session)
        if person is None:
            return 1
        try:
            token = await tokens.create(session, None, person, now=SystemClock().now())
        except DomainError as refusal:
            print(refusal.message, file=sys.stderr)
            return 1
    print(
        f"已为 {person.name}（编号 {person.id}）生成令牌，只显示这一次，请妥善保存：",
        file=sys.stderr,
    )
    print(token)
    return 0


async def cmd_token_revoke(config: Config, args: argparse.Namespace) -> int:
    async with open_db(config, upgrade=False) as sessions, sessions() as session, session.begin():
        person = await _person(args.person, session)
        if person is None:
            return 1
        n = await tokens.revoke(session, None, person, now=SystemClock().now())
    print(f"已作废 {n} 个令牌。")
    return 0
