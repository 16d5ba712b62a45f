"""走访: start the guided flow, or read a one-message report straight to its summary.

走访                -> which household? (buttons for those still due this month)
走访 王三女 饮水正常 屋顶漏雨 -> the summary, 确认 to save (handlers/visit_flow.py)
"""

from __future__ import annotations

from core import payloads as P
from core.messages import Reply
from handlers import visit_save
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_common import due_buttons
from handlers.visit_draft import FLOW, Step, VisitDraft
from handlers.visit_flow import resolve
from handlers.visit_parse import parse_report
from services import free_text
from services import visits as visit_service
from services import visits_photos as photo_service

WORDS = ("走访", "/visit")


async def cmd_visit(ctx: Context, args: str) -> list[Reply]:
    visit_service.require_village(ctx.me)
    # Photos sent just before go on this visit's card, seen before 确认 (never attached unseen).
    loose = await photo_service.loose_at_hand(ctx.session, ctx.me, ctx.now())
    draft = VisitDraft(msg=ctx.incoming.message_id, photos=tuple(loose))
    if not args:
        await ctx.set_state(FLOW, Step.PICK, draft.to_dict())
        buttons = await due_buttons(ctx)
        if not buttons:
            return [Reply(T.ASK_HOUSEHOLD_EMPTY)]
        return [Reply(T.ASK_HOUSEHOLD, tuple(buttons))]
    # The village's names: one is never read as a check word (叶水生 has 水).
    names = [h.head_name for h in await free_text.own_households(ctx.session, ctx.me)]
    report = parse_report(args, names)
    visit_service.check_note(report.note)
    unsure = {k: report.readings[k].text for k in report.unclear}
    draft = draft.but(checks=report.checklist(), note=report.note, unsure=unsure, quick=True)
    if not report.query:
        await ctx.set_state(FLOW, Step.PICK, draft.to_dict())
        return [Reply(T.ASK_HOUSEHOLD_EMPTY)]
    return await resolve(ctx, report.query, draft)


def fresh_report(text: str) -> str | None:
    """The arguments of a new 走访 sent inside the flow (it replaces the unsaved one)."""
    for word in WORDS:
        if text.startswith(word):
            return text[len(word) :].strip()
    return None


async def ask_replace(ctx: Context, draft: VisitDraft, args: str) -> list[Reply]:
    """A new 走访 while a card waits for 确认: keep the card and ask before replacing it."""
    assert draft.hh is not None
    hh = await visit_service.household_for(ctx.session, ctx.me, draft.hh)
    await ctx.set_state(FLOW, Step.REPLACE, draft.but(pending=args).to_dict())
    buttons = (
        P.VisitReplace("save").button(T.BTN_KEEP),
        P.VisitReplace("drop").button(T.BTN_DROP),
    )
    return [Reply(T.REPLACE_ASK.format(name=hh.head_name), buttons)]


async def on_replace(ctx: Context, draft: VisitDraft, p: P.VisitReplace) -> list[Reply]:
    """保存: save the waiting card, then start the new report; 丢弃: drop it, then start."""
    args, draft = draft.pending or "", draft.but(pending=None)
    if p.choice == "save":
        replies = await visit_save.save(ctx, draft)
        if ctx.state is not None:  # the save asks something first (a duplicate): stay there
            return replies
    else:
        assert draft.hh is not None
        hh = await visit_service.household_for(ctx.session, ctx.me, draft.hh)
        await ctx.clear_state()
        replies = [Reply(T.REPLACE_DROPPED.format(name=hh.head_name))]
    return [*replies, *(await cmd_visit(ctx, args))]
