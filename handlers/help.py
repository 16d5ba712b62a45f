"""帮助 is answered by the router (it needs the registry); this module adds 我的信息."""

from __future__ import annotations

from core.messages import Reply
from core.roles import ROLES
from handlers import texts
from handlers.context import Context
from handlers.registry import Command, Registry
from storage import regions as region_store
from storage.people import mask_phone


async def whoami(ctx: Context, _args: str) -> list[Reply]:
    me = ctx.me
    path = await region_store.path_name(ctx.session, me.region_id)
    lines = [
        texts.WHOAMI_NAME.format(name=me.name),
        texts.WHOAMI_ROLE.format(role=me.role_zh),
        texts.WHOAMI_REGION.format(path=path),
    ]
    if me.phone:
        lines.append(texts.WHOAMI_PHONE.format(phone=mask_phone(me.phone)))
    return [Reply("\n".join(lines))]


def register(registry: Registry) -> None:
    registry.command(
        Command(
            ("我的信息", "/me"),
            whoami,
            frozenset(ROLES),
            texts.HELP_WHOAMI,
            order=900,
        )
    )
