"""cunbot run | db upgrade."""

from __future__ import annotations

import argparse
import sys

from aiohttp import web

from bot.app import create_app
from bot.commands import open_db
from bot.config import Config
from bot.logs import setup_logging
from bot.loop import new_event_loop
from storage import db

# Seconds requests under way get to finish on SIGTERM/SIGINT before the app's own cleanup.
SHUTDOWN_TIMEOUT = 10.0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    run = sub.add_parser("run", help="start the service")
    run.set_defaults(func=cmd_run)
    dbp = sub.add_parser("db", help="database schema")
    dbsub = dbp.add_subparsers(dest="db_command", required=True)
    up = dbsub.add_parser("upgrade", help="apply migrations up to the newest")
    up.add_argument("--revision", default="head")
    up.set_defaults(func=cmd_db_upgrade)


def cmd_run(config: Config, _args: argparse.Namespace) -> int:
    setup_logging(config.core.log_level, config.core.log_format)
    app = create_app(config)
    print(f"cunbot 正在运行: {config.public_url}/chat", file=sys.stderr)
    web.run_app(
        app,
        host=config.core.host,
        port=config.core.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT,
        print=None,
        loop=new_event_loop(),
    )
    return 0


async def cmd_db_upgrade(config: Config, args: argparse.Namespace) -> int:
    async with open_db(config, revision=args.revision) as sessions, sessions() as session:
        revision = await db.current_revision(await session.connection())
    print(f"数据库已升级到 {revision}")
    return 0
