"""Photos and locations sent outside a flow, and the "which household?" answer for a photo.

A photo goes to a visit by itself only while exactly one visit is open for it: the visit flow's
card (handlers/visits.py). With two open (a card waiting for 确认 and a new report waiting for
保存/丢弃), or none (outside any flow, even minutes after a saved visit), the sender is asked
which household it shows, with 不用了. services/visits_photos.py decides where a chosen photo
goes; a photo button carries the photo id and a household id, both re-checked there.
"""

from __future__ import annotations

from core import payloads as P
from core.messages import Button, Reply
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_draft import FLOW, Step, VisitDraft
from handlers.visit_flow import draft_of, picked, reprompt
from handlers.visit_parse import parse_report
from services import visits as visit_service
from services import visits_photos as photo_service
from services.visits_photos import Attached, Seen
from storage.households import HouseholdDTO


async def store_photo(ctx: Context) -> tuple[int, bool] | None:
    """The received photo stored (id, whether new), or ``None`` when it could not be read."""
    return await photo_service.add_photo(
        ctx.session, ctx.me, ctx.incoming.photo, now=ctx.now(), rules=ctx.rules
    )


def _which(text: str, photo_id: int, households: tuple[HouseholdDTO, ...]) -> Reply:
    buttons: list[Button] = [P.VisitPhoto(photo_id, h.id).button(h.head_name) for h in households]
    buttons.append(P.PhotoDrop(photo_id).button(T.BTN_NOT_NEEDED))
    return Reply(text, tuple(buttons))


# A lone photo's replies, and a lone voice note's (the same path: a voice note is a media row
# of kind voice): unreadable, seen before, no households to offer, which household.
_LONE = {
    "photo": (T.PHOTO_UNREADABLE, T.PHOTO_SEEN, T.PHOTO_WHICH_NONE, T.PHOTO_WHICH),
    "voice": (T.VOICE_UNREADABLE, T.VOICE_SEEN, T.VOICE_WHICH_NONE, T.VOICE_WHICH),
}


async def on_photo(ctx: Context) -> list[Reply]:
    unreadable, seen, which_none, which = _LONE.get(ctx.incoming.kind, _LONE["photo"])
    got = await store_photo(ctx)
    if got is None:
        return [Reply(unreadable)]
    placed = await photo_service.place_photo(
        ctx.session, ctx.me, *got, now=ctx.now(), rules=ctx.rules
    )
    if isinstance(placed, Seen):
        return [Reply(seen)]
    if not placed.households:
        return [Reply(which_none)]
    return [_which(which, placed.photo_id, placed.households)]


async def _pending_household(ctx: Context, draft: VisitDraft) -> HouseholdDTO | None:
    """The household of the new report waiting while the card asks 保存/丢弃, if it is clear."""
    query = parse_report(draft.pending or "").query
    if not query:
        return None
    found = await visit_service.find_household(ctx.session, ctx.me, query)
    return found.matches[0] if len(found.matches) == 1 else None


async def ask_between(ctx: Context, draft: VisitDraft, photo: tuple[int, bool]) -> list[Reply]:
    """A photo while two visits are open: which one (nothing is guessed)."""
    photo_id, new = photo
    if not new:
        return [Reply(T.PHOTO_SEEN)]
    assert draft.hh is not None
    card = await visit_service.household_for(ctx.session, ctx.me, draft.hh)
    waiting = await _pending_household(ctx, draft)
    households = (card,) if waiting is None or waiting.id == card.id else (card, waiting)
    other = waiting.head_name if waiting is not None else (draft.pending or "")[:20]
    return [_which(T.PHOTO_WHICH_OPEN.format(a=card.head_name, b=other), photo_id, households)]


async def _choice_in_flow(ctx: Context, payload: P.VisitPhoto) -> list[Reply]:
    """The answer while a visit card is open: that card, the report waiting behind it, or an
    earlier visit of the chosen household (never a new visit in place of the card)."""
    step, draft = draft_of(ctx)
    hh = await visit_service.household_for(ctx.session, ctx.me, payload.household)
    photo = await photo_service.photo_for_person(ctx.session, ctx.me, payload.photo)
    if photo.attached:
        return [Reply(T.PHOTO_SEEN)]
    if hh.id == draft.hh:
        if payload.photo not in draft.photos:
            draft = draft.but(photos=(*draft.photos, payload.photo))
        await ctx.set_state(FLOW, step, draft.to_dict())
        added = Reply(T.PHOTO_ADDED.format(name=hh.head_name, n=len(draft.photos)))
        return [added, await reprompt(ctx, step, draft)]
    if step == Step.REPLACE:  # the waiting report takes the loose photo on its card
        return [Reply(T.PHOTO_FOR_NEXT.format(name=hh.head_name))]
    placed = await photo_service.photo_of_household(
        ctx.session, ctx.me, payload.photo, payload.household, now=ctx.now()
    )
    if isinstance(placed, Attached):
        return [Reply(T.PHOTO_ATTACHED.format(name=hh.head_name, id=placed.visit.id))]
    card = await visit_service.household_for(ctx.session, ctx.me, draft.hh or hh.id)
    return [Reply(T.PHOTO_FINISH_FIRST.format(name=card.head_name))]


async def on_photo_choice(ctx: Context, payload: P.VisitPhoto) -> list[Reply]:
    """The answer to "which household is this photo?": its visit today, or a new visit."""
    if ctx.state is not None and ctx.state.flow == FLOW and ctx.state.data.get("hh"):
        return await _choice_in_flow(ctx, payload)
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


async def on_photo_drop(ctx: Context, payload: P.PhotoDrop) -> list[Reply]:
    """不用了: the photo stays stored but belongs to nothing, and nothing takes it by itself."""
    dropped = await photo_service.drop_loose(ctx.session, ctx.me, payload.photo, now=ctx.now())
    if not dropped:
        return [Reply(T.PHOTO_ALREADY_PLACED)]
    if ctx.state is not None and ctx.state.flow == FLOW:
        step, draft = draft_of(ctx)
        return [Reply(T.PHOTO_DROPPED), await reprompt(ctx, step, draft)]
    return [Reply(T.PHOTO_DROPPED)]


async def on_location(ctx: Context) -> list[Reply]:
    inc = ctx.incoming
    if inc.lat is None or inc.lon is None:
        return [Reply(T.LOCATION_LATER)]
    located = await photo_service.locate(ctx.session, ctx.me, inc.lat, inc.lon, now=ctx.now())
    if located is None:
        return [Reply(T.LOCATION_LATER)]
    text = T.LOCATION_ATTACHED.format(name=located.household.head_name, id=located.visit.id)
    return [Reply(text + ("\n" + T.LOCATION_FAR if located.flag else ""))]
