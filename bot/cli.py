"""``cunbot`` command line. Subcommands live in bot/commands/*, each with ``add_parsers``."""

from __future__ import annotations

import argparse
import asyncio
import importlib
import sys
from collections.abc import Sequence

from bot.config import ConfigError, load_config

COMMAND_MODULES = (
    "bot.commands.core",
    "bot.commands.admin",
    "bot.commands.reports",
    "bot.commands.quotas",
    "bot.commands.tokens",
    "bot.commands.faq",
    "bot.commands.console",
    "bot.commands.media",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="cunbot", description="村务助手 cunbot")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in COMMAND_MODULES:
        importlib.import_module(name).add_parsers(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = load_config()
    except ConfigError as exc:
        print(exc, file=sys.stderr)
        return 2
    result = args.func(config, args)
    if asyncio.iscoroutine(result):
        result = asyncio.run(result)
    return int(result or 0)


if __name__ == "__main__":
    raise SystemExit(main())
