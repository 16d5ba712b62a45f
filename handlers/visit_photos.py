"""Photos and locations sent outside a flow, and the "which household?" answer for a photo.

services/visits_photos.py decides where they go; this renders it. A photo button carries the
photo id and a household id; both are re-checked by the use case.
"""

from __future__ import annotations

from core import payloads as P
from core.messages import Reply
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_draft import VisitDraft
from handlers.visit_flow import picked
from services import visits_photos as photo_service
from services.visits_photos import Attached, Seen


async def store_photo(ctx: Context) -> tuple[int, bool] | None:
    """The received photo stored (id, whether new), or ``None`` when it could not be read."""
    return await photo_service.add_photo(
        ctx.session, ctx.me, ctx.incoming.photo, now=ctx.now(), rules=ctx.rules
    )


async def on_photo(ctx: Context) -> list[Reply]:
    got = await store_photo(ctx)
    if got is None:
        return [Reply(T.PHOTO_UNREADABLE)]
    placed = await photo_service.place_photo(
        ctx.session, ctx.me, *got, now=ctx.now(), rules=ctx.rules
    )
    if isinstance(placed, Seen):
        return [Reply(T.PHOTO_SEEN)]
    if isinstance(placed, Attached):
        hh = placed.household
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=placed.visit.id))]
    if not placed.households:
        return [Reply(T.PHOTO_WHICH_NONE)]
    buttons = tuple(
        P.VisitPhoto(placed.photo_id, h.id).button(h.head_name) for h in placed.households
    )
    return [Reply(T.PHOTO_WHICH, buttons)]


async def on_photo_choice(ctx: Context, payload: P.VisitPhoto) -> list[Reply]:
    """The answer to "which household is this photo?": its visit today, or a new visit."""
    placed = await photo_service.photo_of_household(
        ctx.session, ctx.me, payload.photo, payload.household, now=ctx.now()
    )
    if isinstance(placed, Seen):
        return [Reply(T.PHOTO_SEEN)]
    if isinstance(placed, Attached):
        hh = placed.household
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=placed.visit.id))]
    draft = VisitDraft(photos=(payload.photo,), msg=ctx.incoming.message_id)
    return await picked(ctx, placed, draft)


async def on_location(ctx: Context) -> list[Reply]:
    inc = ctx.incoming
    if inc.lat is None or inc.lon is None:
        return [Reply(T.LOCATION_LATER)]
    located = await photo_service.locate(ctx.session, ctx.me, inc.lat, inc.lon, now=ctx.now())
    if located is None:
        return [Reply(T.LOCATION_LATER)]
    text = T.LOCATION_ATTACHED.format(name=located.household.head_name, id=located.visit.id)
    return [Reply(text + ("\n" + T.LOCATION_FAR if located.flag else ""))]
