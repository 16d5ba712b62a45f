"""Everyone's digest settings: 设置 早报 08:00 / 设置 早报 关 / 设置 早报 开 (and 晚报)."""

from __future__ import annotations

import re

from core.messages import Reply
from core.roles import ROLES
from core.rules import parse_hhmm
from handlers import task_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from services import settings as service
from services.settings import Digest

_DIGEST_NAMES: dict[str, Digest] = {"早报": "morning", "晚报": "evening"}
_OFF = ("关", "关闭", "不要", "off")
_ON = ("开", "打开", "on")


async def settings(ctx: Context, rest: str) -> list[Reply]:
    """设置 早报 08:00 | 设置 早报 关 | 设置 早报 开 (and 晚报)."""
    parts = rest.replace("：", " ").replace(":", ":").split()
    if len(parts) != 2 or parts[0] not in _DIGEST_NAMES:
        return [Reply(T.SETTINGS_HOW)]
    kind = _DIGEST_NAMES[parts[0]]
    value = parts[1].replace("：", ":")
    if value in _OFF:
        await service.set_digest(ctx.session, ctx.me, kind, now=ctx.clock.now(), on=False)
        return [Reply(T.SETTINGS_OK.format(what=parts[0], value=T.SETTINGS_OFF))]
    if value in _ON:
        await service.set_digest(ctx.session, ctx.me, kind, now=ctx.clock.now())
        return [Reply(T.SETTINGS_OK.format(what=parts[0], value=T.SETTINGS_ON))]
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2})|点(半)?)?", value)
    if not m:
        return [Reply(T.SETTINGS_HOW)]
    hour = int(m.group(1))
    minute = int(m.group(2)) if m.group(2) else (30 if m.group(3) else 0)
    try:
        at = parse_hhmm(f"{hour}:{minute:02d}")
    except ValueError:
        return [Reply(T.SETTINGS_HOW)]
    await service.set_digest(
        ctx.session, ctx.me, kind, now=ctx.clock.now(), at=at.strftime("%H:%M")
    )
    return [
        Reply(T.SETTINGS_OK.format(what=f"{parts[0]}{T.SETTINGS_TIME}", value=at.strftime("%H:%M")))
    ]


def register(registry: Registry) -> None:
    registry.command(
        Command(
            ("设置", "/settings"),
            settings,
            frozenset(ROLES),
            "设置 早报 08:00 / 设置 早报 关 — 每日早报晚报",
            order=800,
        )
    )
