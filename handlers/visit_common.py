"""Helpers shared by the visit, progress and rectification handlers."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa

from core.rules import PHOTO_WINDOW
from handlers import visit_texts as T
from handlers.context import Context, Refused
from services import media
from storage import photos as photo_store
from storage import regions
from storage import visits as store
from storage.models import InboxMessage
from storage.visits import HouseholdDTO

PICK_BUTTONS = 8
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


async def household_in_scope(ctx: Context, household_id: int) -> HouseholdDTO:
    hh = await store.get_household(ctx.session, household_id)
    if hh is None:
        raise Refused(T.NOT_FOUND_NONE.format(q=household_id))
    await ctx.require_scope(hh.village_id, f"{hh.head_name}户")
    return hh


async def due_buttons(ctx: Context, village_id: int) -> list[tuple[str, str]]:
    progress = await store.village_progress(
        ctx.session, village_id, month_arg(ctx), ctx.rules.visit_quotas
    )
    return [
        (p.head_name, f"visit:hh:{p.household_id}")
        for p in store.still_due(progress)[:PICK_BUTTONS]
    ]


async def store_photo(ctx: Context) -> tuple[int, bool] | None:
    stored = ctx.incoming.photo
    if not stored or not stored.get("sha256"):
        return None
    taken = media.exif_local_to_utc(stored.get("taken_at"), ctx.rules.timezone)
    photo_id, new = await photo_store.add_photo(
        ctx.session, stored, uploaded_by=ctx.me.id, now=ctx.now(), taken_at=taken
    )
    await ctx.audit("photo.add", f"photo:{photo_id}", {"sha256": stored["sha256"], "new": new})
    return photo_id, new


async def burst_location(ctx: Context) -> tuple[float, float] | None:
    """A location the sender shared in the last few minutes outside any flow (the inbox has it)."""
    inc = ctx.incoming
    payloads = await ctx.session.scalars(
        sa.select(InboxMessage.payload)
        .where(
            InboxMessage.channel == inc.channel,
            InboxMessage.sender_id == inc.sender_id,
            InboxMessage.received_at >= ctx.now() - PHOTO_WINDOW,
        )
        .order_by(InboxMessage.id.desc())
        .limit(30)
    )
    for p in payloads:
        if p.get("kind") == "location" and p.get("lat") is not None:
            return float(p["lat"]), float(p["lon"])
    return None


async def location_flag(ctx: Context, village_id: int, lat: float, lon: float) -> str | None:
    county = await regions.county_of(ctx.session, village_id)
    villages = await regions.village_ids_under(ctx.session, county.id) if county else [village_id]
    return await store.location_flag(ctx.session, villages, lat, lon)
