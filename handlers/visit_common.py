"""Helpers shared by the visit, progress and rectification handlers."""

from __future__ import annotations

import re
from datetime import datetime

from core import payloads as P
from core.messages import Button
from handlers import visit_texts as T
from handlers.context import Context, Refused
from services import visits as visit_service
from storage import visits as store

_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$")


def month_arg(ctx: Context, text: str = "") -> str:
    text = text.strip()
    if not text:
        return store.month_of(ctx.now(), ctx.rules.timezone)
    m = _MONTH.match(text)
    if not m or not 1 <= int(m.group(2)) <= 12:
        raise Refused(T.MONTH_BAD)
    return f"{int(m.group(1)):04d}-{int(m.group(2)):02d}"


def local_str(ctx: Context, at: datetime) -> str:
    return ctx.rules.local(at).strftime("%m-%d %H:%M")


async def village_of(ctx: Context) -> int:
    me = ctx.me
    if me.region_level != "village":
        raise Refused(T.NO_VILLAGE)
    return me.region_id


async def due_buttons(ctx: Context) -> list[Button]:
    """A button per household still due this month (fewest visits first)."""
    due = await visit_service.still_due(ctx.session, ctx.me, now=ctx.now(), rules=ctx.rules)
    return [P.VisitHousehold(p.household_id).button(p.head_name) for p in due]
