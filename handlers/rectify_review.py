"""Township and county staff review the fixes villages hand in (复核): 待复核 lists them with
the photo of the visit that found the problem (before) and the photo of the fix (after), as
images; 复核通过 N clears a problem, 复核退回 N 理由 sends it back (the 复核退回 button asks
for the reason: flow ``rfix_return``). services/rectify.py checks scope and state.
"""

from __future__ import annotations

from core.deadlines import DeadlineError, parse_deadline, show
from core.errors import Conflict, Invalid, Refused
from core.messages import Button, Reply
from core.numbers import leading_number
from core.payloads import RectifyApprove, RectifyReturn, unpack
from core.roles import STAFF_ROLES
from handlers import visit_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.task_review import reason_and_deadline
from services import rectify as service
from storage.rectification import ReviewItem

FLOW = "rfix_return"
WITH_PHOTOS = 5  # items shown with their photos in one 待复核 answer
PHOTOS_EACH = 2  # before photos and after photos shown per item


def _line(ctx: Context, item: ReviewItem) -> str:
    p = item.problem
    at = ctx.rules.local(item.submitted_at).strftime("%m月%d日 %H:%M") if item.submitted_at else "—"
    return T.REVIEW_LINE.format(
        id=p.number, village=item.village_name, name=p.household_name, kind=p.kind,
        desc=p.description[:30], at=at,
    )  # fmt: skip


def _buttons(number: int) -> tuple[Button, ...]:
    return (
        RectifyApprove(number).button(T.BTN_REVIEW_OK),
        RectifyReturn(number).button(T.BTN_REVIEW_BACK),
    )


def item_replies(item: ReviewItem) -> list[Reply]:
    """The before and after photos of one fix, as images, then the question with buttons."""
    p = item.problem
    out = [
        Reply(T.REVIEW_BEFORE.format(id=p.number, name=p.household_name), image=path)
        for path in item.before[:PHOTOS_EACH]
    ]
    if not item.before:
        out.append(Reply(T.REVIEW_NO_BEFORE.format(id=p.number)))
    out += [
        Reply(T.REVIEW_AFTER.format(id=p.number, name=p.household_name), image=path)
        for path in item.after[:PHOTOS_EACH]
    ]
    ask = T.REVIEW_ASK.format(
        id=p.number, village=item.village_name, name=p.household_name, kind=p.kind
    )
    out.append(Reply(ask, _buttons(p.number)))
    return out


async def cmd_waiting(ctx: Context, _rest: str) -> list[Reply]:
    items, total = await service.awaiting_review(ctx.session, ctx.me)
    if not total:
        return [Reply(T.REVIEW_NONE)]
    lines = [T.REVIEW_HEAD.format(n=total), *(_line(ctx, i) for i in items)]
    if total > len(items):
        lines.append(T.REVIEW_MORE.format(n=total - len(items)))
    lines.append(T.REVIEW_TAIL)
    out = [Reply("\n".join(lines))]
    for item in items[:WITH_PHOTOS]:
        out += item_replies(item)
    return out


async def _approve(ctx: Context, number: int) -> list[Reply]:
    item = await service.approve_fix(ctx.session, ctx.me, number, now=ctx.now(), rules=ctx.rules)
    p = item.problem
    text = T.REVIEW_APPROVED.format(
        id=p.number, village=item.village_name, name=p.household_name, kind=p.kind
    )
    return [Reply(text)]


async def _return(ctx: Context, number: int, tail: str) -> list[Reply]:
    reason, deadline_text = reason_and_deadline(tail)
    try:
        deadline = parse_deadline(deadline_text, ctx.now(), ctx.rules.timezone)
    except DeadlineError as err:
        return [Reply(err.message)]
    item = await service.return_fix(
        ctx.session, ctx.me, number, reason=reason, deadline=deadline, now=ctx.now(),
        rules=ctx.rules,
    )  # fmt: skip
    if ctx.state is not None:
        await ctx.clear_state()
    p = item.problem
    text = T.REVIEW_RETURNED.format(
        id=p.number, village=item.village_name, name=p.household_name, kind=p.kind,
        deadline=show(deadline, ctx.rules.timezone),
    )  # fmt: skip
    return [Reply(text)]


async def cmd_approve(ctx: Context, rest: str) -> list[Reply]:
    pid, _ = leading_number(rest)
    if pid is None:
        return [Reply(T.REVIEW_OK_HOW)]
    try:
        return await _approve(ctx, pid)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]


async def cmd_return(ctx: Context, rest: str) -> list[Reply]:
    pid, tail = leading_number(rest)
    if pid is None or not tail:
        return [Reply(T.REVIEW_BACK_HOW)]
    try:
        return await _return(ctx, pid, tail)
    except (Invalid, Conflict) as err:
        return [Reply(err.message)]


async def on_button(ctx: Context, _rest: str) -> list[Reply]:
    """复核通过 / 复核退回 (which asks for the reason); the id is re-checked by the use case."""
    pressed = unpack(ctx.incoming.payload)
    try:
        if isinstance(pressed, RectifyApprove):
            return await _approve(ctx, pressed.number)
        if isinstance(pressed, RectifyReturn):
            item = await service.review_item(ctx.session, ctx.me, pressed.number)
            await ctx.set_state(FLOW, "reason", {"problem": item.problem.number})
            return [Reply(T.REVIEW_REASON_ASK)]
    except (Invalid, Conflict) as err:
        return [Reply(err.message)]
    raise Refused(T.STALE_BUTTON)


async def flow_reason(ctx: Context) -> list[Reply]:
    assert ctx.state is not None
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not text:
        return [Reply(T.REVIEW_REASON_ASK)]
    try:
        return await _return(ctx, int(ctx.state.data["problem"]), text)
    except (Invalid, Conflict) as err:
        await ctx.clear_state()
        return [Reply(err.message)]


def register(registry: Registry) -> None:
    staff = frozenset(STAFF_ROLES)
    registry.command(
        Command(("待复核", "整改复核"), cmd_waiting, staff, T.HELP_REVIEW_LIST, order=315)
    )
    registry.command(Command(("复核通过",), cmd_approve, staff, T.HELP_REVIEW_OK, order=316))
    registry.command(Command(("复核退回",), cmd_return, staff, T.HELP_REVIEW_BACK, order=317))
    registry.flow(FLOW, flow_reason)
    registry.button("rfix", on_button)
