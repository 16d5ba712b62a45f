"""撤销 and 修改 of the person's last visit (within 24 hours; services/visits.py decides)."""

from __future__ import annotations

import re

from core import payloads as P
from core.messages import Reply
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_common import local_str
from handlers.visit_draft import Mode, Step, VisitDraft
from handlers.visit_flow import go
from handlers.visit_parse import parse_report
from services import visits as visit_service
from services import visits_amend


async def cmd_revoke(ctx: Context, _args: str) -> list[Reply]:
    found = await visits_amend.revocable(ctx.session, ctx.me, ctx.now())
    if found is None:
        return [Reply(T.NOTHING_TO_REVOKE)]
    visit, hh = found
    text = T.REVOKE_ASK.format(name=hh.head_name, at=local_str(ctx, visit.visited_at), id=visit.id)
    return [Reply(text, (P.VisitRevoke(visit.id).button(T.BTN_REVOKE),))]


async def on_revoke(ctx: Context, payload: P.VisitRevoke) -> list[Reply]:
    visit = await visits_amend.revoke(ctx.session, ctx.me, payload.visit, now=ctx.now())
    return [Reply(T.REVOKED.format(id=visit.id))]


# 修改 记录号 2 收入正常 | 修改 记录号：2 … | 修改 #2 …: the record to change, then the changes.
_RECORD = re.compile(r"^(?:记录号|记录|#|＃)\s*[:：]?\s*(\d{1,12})(?:\s+|$)")


def record_number(args: str) -> tuple[int | None, str]:
    """The 记录号 named at the start of the arguments (if any) and the rest of them."""
    found = _RECORD.match(args.strip())
    if found is None:
        return None, args
    return int(found.group(1)), args.strip()[found.end() :].strip()


async def cmd_amend(ctx: Context, args: str) -> list[Reply]:
    record, args = record_number(args)
    if record is None:
        visit = await visits_amend.amendable(ctx.session, ctx.me, ctx.now())
        if visit is None:
            return [Reply(T.NOTHING_TO_AMEND)]
    else:
        visit = await visits_amend.amendable_record(ctx.session, ctx.me, record, ctx.now())
        if visit is None:
            return [Reply(T.NO_SUCH_RECORD.format(id=record))]
    draft = VisitDraft(
        mode=Mode.AMEND,
        visit_id=visit.id,
        hh=visit.household_id,
        checks=dict(visit.checklist),
        note=visit.note or "",
    )
    if not args:
        return await go(ctx, Step.CHECK, draft)
    report = parse_report("_ " + args)
    unsure = {k: report.readings[k].text for k in report.unclear}
    draft = draft.but(checks={**draft.checks, **report.checklist()}, unsure=unsure)
    if report.unread:  # words beyond the checks: the note becomes this message's text
        visit_service.check_note(report.note)
        draft = draft.but(note=report.note)
    return await go(ctx, Step.CONFIRM, draft)
