"""后台 / 工作台 / /console: a one-time link that signs the sender in to the web console."""

from __future__ import annotations

from core.messages import Reply
from core.roles import ROLES
from handlers import console_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from services import console_auth


async def console_link(ctx: Context, _rest: str) -> list[Reply]:
    link = await console_auth.issue_link(
        ctx.session, ctx.me, now=ctx.now(), public_url=ctx.rules.public_url, via="chat"
    )
    return [Reply(T.LINK.format(url=link.url), link=link.url, meta={"kind": "console_link"})]


def register(registry: Registry) -> None:
    registry.command(
        Command(("后台", "工作台", "/console"), console_link, frozenset(ROLES), T.HELP, order=950)
    )
