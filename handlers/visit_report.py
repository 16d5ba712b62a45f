"""走访: start the guided flow, or read a one-message report straight to its summary.

走访                -> which household? (buttons for those still due this month)
走访 王三女 饮水正常 屋顶漏雨 -> the summary, 确认 to save (handlers/visit_flow.py)
"""

from __future__ import annotations

from core.messages import Reply
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_common import due_buttons
from handlers.visit_draft import FLOW, Step, VisitDraft
from handlers.visit_flow import resolve
from handlers.visit_parse import parse_report
from services import visits as visit_service

WORDS = ("走访", "/visit")


async def cmd_visit(ctx: Context, args: str) -> list[Reply]:
    visit_service.require_village(ctx.me)
    draft = VisitDraft(msg=ctx.incoming.message_id)
    if not args:
        await ctx.set_state(FLOW, Step.PICK, draft.to_dict())
        buttons = await due_buttons(ctx)
        if not buttons:
            return [Reply(T.ASK_HOUSEHOLD_EMPTY)]
        return [Reply(T.ASK_HOUSEHOLD, tuple(buttons))]
    report = parse_report(args)
    visit_service.check_note(report.note)
    draft = draft.but(checks=report.checklist(), note=report.note, quick=True)
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
