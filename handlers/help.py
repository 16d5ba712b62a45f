"""帮助 is answered by the router (it needs the registry); this module adds 我的信息."""

from __future__ import annotations

from core.messages import Reply
from core.roles import ROLES
from handlers.context import Context
from handlers.registry import Command, Registry
from storage import regions as region_store
from storage.people import mask_phone


async def whoami(ctx: Context, _args: str) -> list[Reply]:
    me = ctx.me
    path = await region_store.path_name(ctx.session, me.region_id)
    lines = [f"姓名：{me.name}", f"身份：{me.role_zh}", f"辖区：{path}"]
    if me.phone:
        lines.append(f"电话：{mask_phone(me.phone)}")
    return [Reply("\n".join(lines))]


def register(registry: Registry) -> None:
    registry.command(
        Command(
            ("我的信息", "/me"),
            whoami,
            frozenset(ROLES),
            "我的信息 — 查看绑定的身份和辖区",
            order=900,
        )
    )
