"""照片 [户主]: a visit's photos (count, times, and the photos themselves as images), each with
移到别户 (another visit of the village that day) and 移除 (asks first). The buttons carry photo
and visit ids, re-checked by services/visit_photo_edit.py; a forged one is refused as unknown.
不用了 on a "which household?" question is answered here too (its payload is a photo's)."""

from __future__ import annotations

from core import payloads as P
from core.errors import Refused
from core.messages import Reply
from core.roles import VILLAGE_ROLES
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.visit_common import local_str
from handlers.visit_photos import on_photo_drop
from services import visit_photo_edit as edit
from storage.photos import PhotoDTO

SHOWN = 9  # photos sent as images in one answer


def _line(ctx: Context, i: int, p: PhotoDTO) -> str:
    taken = T.PHOTOS_TAKEN.format(at=local_str(ctx, p.taken_at)) if p.taken_at else ""
    at = local_str(ctx, p.created_at) if p.created_at else "—"
    return T.PHOTOS_LINE.format(i=i, at=at, taken=taken)


async def cmd_photos(ctx: Context, rest: str) -> list[Reply]:
    found = await edit.photos_of_visit(ctx.session, ctx.me, rest.strip())
    v, hh, photos = found.visit, found.household, found.photos
    head = T.PHOTOS_HEAD.format(
        name=hh.head_name, id=v.id, at=local_str(ctx, v.visited_at), n=len(photos)
    )
    if not photos:
        return [Reply(f"{head}\n{T.PHOTOS_NONE}")]
    lines = [head, *(_line(ctx, i, p) for i, p in enumerate(photos, start=1))]
    if len(photos) > SHOWN:
        lines.append(T.PHOTOS_MORE.format(n=len(photos) - SHOWN))
    out = [Reply("\n".join(lines))]
    for i, p in enumerate(photos[:SHOWN], start=1):
        buttons = (P.PhotoMove(p.id).button(T.BTN_MOVE), P.PhotoRemove(p.id).button(T.BTN_REMOVE))
        out.append(Reply(T.PHOTO_ITEM.format(i=i, name=hh.head_name), buttons, image=p.path))
    return out


async def _move_ask(ctx: Context, pressed: P.PhotoMove) -> list[Reply]:
    placed, targets = await edit.move_targets(ctx.session, ctx.me, pressed.photo, rules=ctx.rules)
    name = placed.household.head_name
    if not targets:
        return [Reply(T.MOVE_NONE.format(name=name))]
    buttons = tuple(
        P.PhotoMoveTo(pressed.photo, v.id).button(
            T.MOVE_TARGET.format(name=head, at=ctx.rules.local(v.visited_at).strftime("%H:%M"))
        )
        for v, head in targets
    )
    return [Reply(T.MOVE_ASK.format(name=name), buttons)]


async def _move(ctx: Context, pressed: P.PhotoMoveTo) -> list[Reply]:
    placed, target, hh = await edit.move_photo(
        ctx.session, ctx.me, pressed.photo, pressed.visit, now=ctx.now(), rules=ctx.rules
    )
    before = placed.household.head_name
    return [Reply(T.MOVED.format(before=before, after=hh.head_name, id=target.id))]


async def _remove_ask(ctx: Context, pressed: P.PhotoRemove) -> list[Reply]:
    placed = await edit.photo_on_visit(ctx.session, ctx.me, pressed.photo)
    buttons = (
        P.PhotoRemoveConfirm(pressed.photo).button(T.BTN_REMOVE_YES),
        P.PhotoKeep(pressed.photo).button(T.BTN_PHOTO_KEEP),
    )
    text = T.REMOVE_ASK.format(name=placed.household.head_name, id=placed.visit.id)
    return [Reply(text, buttons, image=placed.photo.path)]


async def _remove(ctx: Context, pressed: P.PhotoRemoveConfirm) -> list[Reply]:
    placed = await edit.remove_photo(ctx.session, ctx.me, pressed.photo, now=ctx.now())
    return [Reply(T.REMOVED.format(name=placed.household.head_name))]


async def _keep(ctx: Context, pressed: P.PhotoKeep) -> list[Reply]:
    placed = await edit.photo_on_visit(ctx.session, ctx.me, pressed.photo)
    return [Reply(T.KEPT.format(name=placed.household.head_name))]


async def on_button(ctx: Context, _rest: str) -> list[Reply]:
    pressed = P.unpack(ctx.incoming.payload)
    if isinstance(pressed, P.PhotoDrop):
        return await on_photo_drop(ctx, pressed)
    if isinstance(pressed, P.PhotoMove):
        return await _move_ask(ctx, pressed)
    if isinstance(pressed, P.PhotoMoveTo):
        return await _move(ctx, pressed)
    if isinstance(pressed, P.PhotoRemove):
        return await _remove_ask(ctx, pressed)
    if isinstance(pressed, P.PhotoRemoveConfirm):
        return await _remove(ctx, pressed)
    if isinstance(pressed, P.PhotoKeep):
        return await _keep(ctx, pressed)
    raise Refused(T.STALE_BUTTON)


def register(registry: Registry) -> None:
    registry.command(
        Command(("照片", "/photos"), cmd_photos, VILLAGE_ROLES, T.HELP_PHOTOS, order=17)
    )
    registry.button("photo", on_button)
