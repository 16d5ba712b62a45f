"""The guided visit flow: one question per step, the draft kept in the conversation row.

    pick -> check (x5, buttons) [-> problem_text] -> note -> photos -> location -> confirm [-> dup]

A one-message report (handlers/visit_report.py) jumps straight to ``confirm``; 修改 starts at
``check`` with the visit's checklist. Saving, merging and amending are services/visits.py; this
module asks, keeps the draft, and renders what the use case returns.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from core import payloads as P
from core.checklist import CHECK_ZH, CHECKS, CORE_CHECKS, OK, PROBLEM
from core.messages import Button, Reply
from handlers import visit_save
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_draft import FLOW, Mode, Step, VisitDraft
from handlers.visit_parse import describe
from services import visits as visit_service
from storage.households import HouseholdDTO
from storage.visits import MAX_NOTE

log = logging.getLogger(__name__)

StepButton = Callable[[Context, VisitDraft, Any], Awaitable[list[Reply]]]


# --- prompts ---------------------------------------------------------------------------------


async def _summary(ctx: Context, draft: VisitDraft) -> Reply:
    assert draft.hh is not None
    hh = await visit_service.household_for(ctx.session, ctx.me, draft.hh)
    lines = [T.SUMMARY_HEAD.format(name=hh.head_name, code=hh.code, category=hh.category)]
    lines += describe(draft.checks, draft.unsure)
    if draft.note:
        lines.append(T.SUMMARY_NOTE.format(note=draft.note))
    if draft.photos:
        lines.append(T.SUMMARY_PHOTOS.format(n=len(draft.photos)))
    if draft.lat is not None:
        flag = T.FLAG_ZH.get(draft.flag or "", "")
        lines.append(T.SUMMARY_LOCATION.format(lat=draft.lat, lon=draft.lon, flag=flag))
    if draft.unsure:
        return _unsure_ask(lines, draft)
    lines.append(T.SUMMARY_TAIL)
    return Reply(
        "\n".join(lines),
        (P.VisitConfirm().button(T.BTN_CONFIRM), P.VisitEdit().button(T.BTN_EDIT)),
    )


def _unsure_ask(lines: list[str], draft: VisitDraft) -> Reply:
    """The card asks about the first check it could not read surely, before 确认 is offered."""
    key = next(k for k in CHECKS if k in draft.unsure)
    lines.append(T.UNSURE_ASK.format(text=draft.unsure[key], short=T.CHECK_SHORT[key]))
    return Reply(
        "\n".join(lines),
        (
            P.VisitCheck(key, PROBLEM).button(T.BTN_UNSURE_PROBLEM),
            P.VisitCheck(key, OK).button(T.BTN_UNSURE_OK),
            P.VisitCheck(key, "skip").button(T.BTN_UNSURE_SKIP),
        ),
    )


def check_prompt(i: int) -> Reply:
    key = CORE_CHECKS[i]
    return Reply(
        T.CHECK_ASK.format(i=i + 1, n=len(CORE_CHECKS), name=CHECK_ZH[key]),
        (
            P.VisitCheck(key, "ok").button(T.BTN_OK),
            P.VisitCheck(key, "problem").button(T.BTN_PROBLEM),
            P.VisitCheck(key, "skip").button(T.BTN_SKIP_CHECK),
        ),
    )


def _step_prompt(step: Step, draft: VisitDraft) -> Reply:
    if step == Step.CHECK:
        return check_prompt(draft.i)
    if step == Step.PROBLEM_TEXT:
        return Reply(T.PROBLEM_ASK.format(name=CHECK_ZH[draft.key or ""]))
    if step == Step.NOTE:
        return Reply(T.NOTE_ASK.format(limit=MAX_NOTE), (P.VisitSkip().button(T.BTN_SKIP),))
    if step == Step.PHOTOS:
        return Reply(T.PHOTOS_ASK, (P.VisitNext().button(T.BTN_NEXT),))
    if step == Step.LOCATION:
        return Reply(T.LOCATION_ASK, (P.VisitSkip().button(T.BTN_SKIP),))
    return Reply(T.PRESS_BUTTON)


async def go(ctx: Context, step: Step, draft: VisitDraft) -> list[Reply]:
    await ctx.set_state(FLOW, step, draft.to_dict())
    if step == Step.CONFIRM:
        return [await _summary(ctx, draft)]
    return [_step_prompt(step, draft)]


async def reprompt(ctx: Context, step: Step, draft: VisitDraft) -> Reply:
    if step == Step.CONFIRM:
        return await _summary(ctx, draft)
    if step == Step.PICK:
        return Reply(T.ASK_HOUSEHOLD_EMPTY)
    return _step_prompt(step, draft)


def draft_of(ctx: Context) -> tuple[Step, VisitDraft]:
    assert ctx.state is not None and ctx.state.flow == FLOW
    return Step(ctx.state.step), VisitDraft.from_dict(ctx.state.data)


# --- picking the household -------------------------------------------------------------------


def household_button(label: str, household_id: int) -> Button:
    return P.VisitHousehold(household_id).button(label)


async def resolve(ctx: Context, query: str, draft: VisitDraft) -> list[Reply]:
    """Find the household; on success move to the next step, else offer choices."""
    found = await visit_service.find_household(ctx.session, ctx.me, query)
    if len(found.matches) == 1:
        return await picked(ctx, found.matches[0], draft)
    await ctx.set_state(FLOW, Step.PICK, draft.to_dict())
    if found.matches:
        buttons = tuple(
            household_button(f"{i}. {h.head_name}（{h.code}）", h.id)
            for i, h in enumerate(found.matches, start=1)
        )
        return [Reply(T.PICK_ONE.format(n=len(found.matches)), buttons)]
    query = query[: visit_service.QUERY_MAX]
    if found.nearest:
        buttons = tuple(household_button(h.head_name, h.id) for h in found.nearest)
        return [Reply(T.NOT_FOUND.format(q=query), buttons)]
    return [Reply(T.NOT_FOUND_NONE.format(q=query))]


async def picked(ctx: Context, hh: HouseholdDTO, draft: VisitDraft) -> list[Reply]:
    draft = draft.but(hh=hh.id)
    if draft.quick:
        return await go(ctx, Step.CONFIRM, draft)
    return await go(ctx, Step.CHECK, draft.but(i=0))


# --- messages while the flow is active -------------------------------------------------------


async def _on_location(ctx: Context, step: Step, draft: VisitDraft) -> list[Reply]:
    lat, lon = ctx.incoming.lat, ctx.incoming.lon
    assert lat is not None and lon is not None
    draft = draft.but(lat=lat, lon=lon)
    if draft.hh:
        hh = await visit_service.household_for(ctx.session, ctx.me, draft.hh)
        flag = await visit_service.location_flag(ctx.session, hh.village_id, lat, lon)
        draft = draft.but(flag=flag, flag_known=True)
    nxt = Step.CONFIRM if step == Step.LOCATION else step
    head = Reply(T.LOCATION_FAR if draft.flag else T.LOCATION_GOT)
    return [head, *(await go(ctx, nxt, draft))]


async def _on_text(ctx: Context, step: Step, draft: VisitDraft, text: str) -> list[Reply]:
    if step == Step.PICK and text:
        return await resolve(ctx, text, draft)
    if step == Step.PROBLEM_TEXT and text and draft.key:
        visit_service.check_note(text)
        checks = {**draft.checks, draft.key: {"status": PROBLEM, "text": text}}
        return await _next_check(ctx, draft.but(checks=checks))
    if step == Step.NOTE and text:
        visit_service.check_note(text)
        return await go(ctx, Step.PHOTOS, draft.but(note=text))
    return [Reply(T.PRESS_BUTTON), await reprompt(ctx, step, draft)]


async def on_photo(
    ctx: Context, step: Step, draft: VisitDraft, photo: tuple[int, bool]
) -> list[Reply]:
    photo_id, new = photo
    if photo_id not in draft.photos:
        draft = draft.but(photos=(*draft.photos, photo_id))
    await ctx.set_state(FLOW, step, draft.to_dict())
    voice = ctx.incoming.kind == "voice"
    got, seen = (T.VOICE_GOT, T.VOICE_SEEN) if voice else (T.PHOTO_GOT, T.PHOTO_SEEN)
    head = Reply(got.format(n=len(draft.photos)) if new else seen)
    return [head] if step == Step.PHOTOS else [head, await reprompt(ctx, step, draft)]


async def on_message(ctx: Context, photo: tuple[int, bool] | None = None) -> list[Reply]:
    """A message (not a button) while the flow is active; ``photo`` is the stored photo."""
    step, draft = draft_of(ctx)
    inc = ctx.incoming
    if photo is not None:
        return await on_photo(ctx, step, draft, photo)
    if inc.kind == "location" and inc.lat is not None and inc.lon is not None:
        return await _on_location(ctx, step, draft)
    return await _on_text(ctx, step, draft, inc.text.strip())


async def _next_check(ctx: Context, draft: VisitDraft) -> list[Reply]:
    i = draft.i + 1
    draft = draft.but(key=None)
    if i < len(CORE_CHECKS):
        return await go(ctx, Step.CHECK, draft.but(i=i))
    if draft.mode == Mode.AMEND:
        return await go(ctx, Step.CONFIRM, draft)
    return await go(ctx, Step.NOTE, draft)


# --- buttons of the flow's steps -------------------------------------------------------------


async def _household(ctx: Context, draft: VisitDraft, p: P.VisitHousehold) -> list[Reply]:
    hh = await visit_service.household_for(ctx.session, ctx.me, p.household)
    return await picked(ctx, hh, draft)


async def _check(ctx: Context, draft: VisitDraft, p: P.VisitCheck) -> list[Reply]:
    if p.check != CORE_CHECKS[draft.i]:
        return [check_prompt(draft.i)]
    checks = dict(draft.checks)
    # An answer here settles the card's question on this check too.
    draft = draft.but(unsure={k: v for k, v in draft.unsure.items() if k != p.check})
    if p.answer == PROBLEM:
        return await go(ctx, Step.PROBLEM_TEXT, draft.but(checks=checks, key=p.check))
    if p.answer == OK:
        checks[p.check] = {"status": OK, "text": T.BTN_OK}
    else:
        checks.pop(p.check, None)
    return await _next_check(ctx, draft.but(checks=checks))


async def _to_photos(ctx: Context, draft: VisitDraft, _p: Any) -> list[Reply]:
    return await go(ctx, Step.PHOTOS, draft)


async def _to_location(ctx: Context, draft: VisitDraft, _p: Any) -> list[Reply]:
    return await go(ctx, Step.LOCATION, draft)


async def _to_confirm(ctx: Context, draft: VisitDraft, _p: Any) -> list[Reply]:
    return await go(ctx, Step.CONFIRM, draft)


async def _edit(ctx: Context, draft: VisitDraft, _p: Any) -> list[Reply]:
    return await go(ctx, Step.CHECK, draft.but(i=0))


async def _answer(ctx: Context, draft: VisitDraft, p: P.VisitCheck) -> list[Reply]:
    """An answer to the card's question on an unsure check (any other check: ask again)."""
    if p.check not in draft.unsure or p.answer not in (OK, PROBLEM, "skip"):
        return [await _summary(ctx, draft)]
    return await go(ctx, Step.CONFIRM, draft.answered(p.check, p.answer))


async def _confirm(ctx: Context, draft: VisitDraft, _p: Any) -> list[Reply]:
    if draft.unsure:  # an older card's 确认: the questions come first, never a guess
        return [await _summary(ctx, draft)]
    return await visit_save.save(ctx, draft)


async def _duplicate(ctx: Context, draft: VisitDraft, p: P.VisitDuplicate) -> list[Reply]:
    if p.choice == "same":
        return await visit_save.merge(ctx, draft)
    return await visit_save.save(ctx, draft.but(dup_ok=True))


STEP_BUTTONS: dict[tuple[type[P.Payload], Step], StepButton] = {
    (P.VisitHousehold, Step.PICK): _household,
    (P.VisitCheck, Step.CHECK): _check,
    (P.VisitSkip, Step.NOTE): _to_photos,
    (P.VisitNext, Step.PHOTOS): _to_location,
    (P.VisitSkip, Step.LOCATION): _to_confirm,
    (P.VisitEdit, Step.CONFIRM): _edit,
    (P.VisitConfirm, Step.CONFIRM): _confirm,
    (P.VisitCheck, Step.CONFIRM): _answer,
    (P.VisitDuplicate, Step.DUP): _duplicate,
}


async def on_button(ctx: Context, payload: P.Payload) -> list[Reply]:
    """A button of the flow; one that does not fit the current step re-asks the step."""
    step, draft = draft_of(ctx)
    handler = STEP_BUTTONS.get((type(payload), step))
    if handler is None:
        return [Reply(T.PRESS_BUTTON), await reprompt(ctx, step, draft)]
    return await handler(ctx, draft, payload)
