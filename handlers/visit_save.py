"""Saving what the guided flow gathered: record, amend or merge (services), and the reply.

A new visit may turn out to duplicate one of minutes ago: the flow then asks (step ``dup``)
and 是同一次 merges, 不是 records a second one. The "problems found" line is written once here
for saved, amended and merged visits alike.
"""

from __future__ import annotations

import logging

from core import payloads as P
from core.messages import Reply
from core.numbers import problem_ref
from handlers import visit_texts as T
from handlers.context import Context
from handlers.visit_common import local_str
from handlers.visit_draft import FLOW, Mode, Step, VisitDraft
from services import visits as visit_service
from services import visits_amend
from services.visits import Amended, Duplicate, Origin, Recorded

log = logging.getLogger(__name__)


def _problems_line(ctx: Context, problem_numbers: tuple[int, ...]) -> str:
    return T.SAVED_PROBLEMS.format(
        n=len(problem_numbers),
        days=ctx.rules.rectify_days,
        ids="、".join(problem_ref(n) for n in problem_numbers),
    )


def _duplicate_ask(ctx: Context, dup: Duplicate) -> Reply:
    text = T.DUPLICATE_ASK.format(
        name=dup.household.head_name, minutes=dup.minutes, at=local_str(ctx, dup.visit.visited_at)
    )
    return Reply(
        text,
        (P.VisitDuplicate("same").button(T.BTN_SAME), P.VisitDuplicate("new").button(T.BTN_NEW)),
    )


def _saved_reply(ctx: Context, saved: Recorded) -> Reply:
    lines = [
        T.SAVED.format(
            name=saved.household.head_name,
            id=saved.visit.id,
            visited=saved.visited,
            required=saved.required,
        )
    ]
    if saved.photos:
        lines.append(T.SAVED_PHOTOS.format(n=saved.photos))
    if saved.visit.location_flag:
        lines.append(T.LOCATION_FAR)
    if saved.problem_numbers:
        lines.append(_problems_line(ctx, saved.problem_numbers))
    return Reply("\n".join(lines), meta={"kind": "visit", "visit": saved.visit.id})


async def _amended_reply(ctx: Context, amended: Amended | None) -> list[Reply]:
    await ctx.clear_state()
    if amended is None:
        return [Reply(T.NOTHING_TO_AMEND)]
    visit, hh = amended.visit, amended.household
    text = (
        T.MERGED.format(name=hh.head_name, id=visit.id)
        if amended.merged
        else T.AMENDED.format(id=visit.id)
    )
    if amended.problem_numbers:
        text += "\n" + _problems_line(ctx, amended.problem_numbers)
    return [Reply(text, meta={"kind": "visit", "visit": visit.id})]


async def save(ctx: Context, draft: VisitDraft) -> list[Reply]:
    if draft.mode == Mode.AMEND:
        assert draft.visit_id is not None
        amended = await visits_amend.amend(
            ctx.session,
            ctx.me,
            draft.visit_id,
            checks=draft.checks,
            note=draft.note,
            photos=draft.photos,
            location=draft.location(),
            now=ctx.now(),
            rules=ctx.rules,
        )
        return await _amended_reply(ctx, amended)
    inc = ctx.incoming
    result = await visit_service.record(
        ctx.session,
        ctx.me,
        draft.report(),
        origin=Origin(inc.channel, inc.sender_id, draft.msg),
        now=ctx.now(),
        rules=ctx.rules,
        allow_duplicate=draft.dup_ok,
    )
    if isinstance(result, Duplicate):
        await ctx.set_state(FLOW, Step.DUP, draft.but(dup=result.visit.id).to_dict())
        return [_duplicate_ask(ctx, result)]
    await ctx.clear_state()
    return [_saved_reply(ctx, result)]


async def merge(ctx: Context, draft: VisitDraft) -> list[Reply]:
    """The second report was the same visit: fold it into the first."""
    assert draft.dup is not None
    amended = await visits_amend.merge(
        ctx.session, ctx.me, draft.dup, draft.report(), now=ctx.now(), rules=ctx.rules
    )
    return await _amended_reply(ctx, amended)
