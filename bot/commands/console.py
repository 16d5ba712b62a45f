"""cunbot login-link --person ID_OR_NAME [--json]: a one-time console sign-in link."""

from __future__ import annotations

import argparse
import json
import sys

from bot.commands import open_db
from bot.commands.tokens import _person as find_person
from bot.config import Config
from core.clock import SystemClock
from core.errors import DomainError
from services import console_auth


def add_parsers(sub: argparse._SubParsersAction) -> None:
    link = sub.add_parser("login-link", help="a one-time sign-in link to the county console")
    link.add_argument("--person", required=True, help="person id or exact name")
    link.add_argument("--json", action="store_true", help='print {"url", "expires_at"}')
    link.set_defaults(func=cmd_login_link)


async def cmd_login_link(config: Config, args: argparse.Namespace) -> int:
    async with open_db(config, upgrade=False) as sessions, sessions() as session, session.begin():
        person = await find_person(args.person, session)
        if person is None:
            return 1
        try:
            link = await console_auth.issue_link(
                session, person, now=SystemClock().now(), public_url=config.public_url, via="cli"
            )
        except DomainError as refusal:
            print(refusal.message, file=sys.stderr)
            return 1
    if args.json:
        print(json.dumps({"url": link.url, "expires_at": link.expires_at.isoformat()}))
        return 0
    local = link.expires_at.astimezone(config.rules.timezone)
    print(f"{person.name}（编号 {person.id}）的工作台登录链接，{local:%H:%M} 前有效，只能用一次：")
    print(link.url)
    return 0
