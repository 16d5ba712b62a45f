"""Dispatchers follow and review tasks in the chat, by the task's public number (the same one
every village sees): 通过 3 石门村 / 退回 3 石门村 理由, 待审核, 进度 3, 撤销任务 3. With only one
village waiting on task 3, ``通过 3`` is enough; with several, the waiting villages come as
buttons (for 退回 the reason waits in the ``review`` flow until one is picked). Parses the
command, calls ``services.task_review`` / ``services.tasks`` and renders."""

from __future__ import annotations

import re

from core.deadlines import DeadlineError, parse_deadline, show
from core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from core.messages import Button, Reply, paged
from core.numbers import leading_number
from core.payloads import ReviewBack, ReviewPass, WithdrawConfirm, WithdrawKeep, unpack
from core.statuses import OPEN, AssignmentStatus
from handlers import task_texts as T
from handlers import visit_texts as VT
from handlers.context import Context
from services import rectify as rectify_service
from services import task_review as review
from services import tasks as service
from services.task_work import status_zh
from storage.tasks import AssignmentDTO

DEFAULT_RETURN_DEADLINE = "3天内"
REVIEW_FLOW = "review"  # 退回 with several villages waiting: the reason waits for the pick
CHOOSE_LIMIT = 8  # village buttons at most; beyond, the reviewer types the village


def _choose(waiting: review.Waiting, verb: str, press: type[ReviewPass | ReviewBack]) -> Reply:
    """The waiting villages of a task as buttons (or, with none waiting, say so)."""
    task, items = waiting.task, waiting.items
    if not items:
        return Reply(T.NONE_WAITING_ON.format(n=task.number, title=task.title))
    buttons: tuple[Button, ...] = tuple(
        press(task.number, i.village_id).button(i.village_name) for i in items[:CHOOSE_LIMIT]
    )
    text = T.CHOOSE_VILLAGE.format(n=task.number, title=task.title, count=len(items), verb=verb)
    if len(items) > CHOOSE_LIMIT:
        text += T.CHOOSE_MORE.format(more=len(items) - CHOOSE_LIMIT, verb=verb, n=task.number)
    return Reply(text, buttons)


def _approved(item: AssignmentDTO) -> Reply:
    return Reply(T.APPROVED.format(village=item.village_name, title=item.task_title, ref=item.ref))


async def approve(ctx: Context, rest: str) -> list[Reply]:
    """通过 N [村名]."""
    n, tail = leading_number(rest)
    if n is None:
        return [Reply(T.ASK_ID_APPROVE)]
    try:
        waiting, _ = await review.waiting_on(ctx.session, ctx.me, n, tail, strict=True)
        if len(waiting.items) != 1:
            return [_choose(waiting, T.VERB_APPROVE, ReviewPass)]
        village_id = waiting.items[0].village_id
        item = await review.approve(
            ctx.session, ctx.me, n, village_id, now=ctx.now(), rules=ctx.rules
        )
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    return [_approved(item)]


def reason_and_deadline(tail: str) -> tuple[str, str]:
    pieces = re.split(r"\s*[/／]\s*", tail)
    deadline_text = ""
    for piece in pieces[1:]:
        if piece.startswith(("截止", "期限")):
            deadline_text = piece[2:].strip(" ：:")
    return pieces[0], deadline_text or DEFAULT_RETURN_DEADLINE


async def _send_back(
    ctx: Context, n: int, village_id: int, reason: str, deadline_text: str
) -> list[Reply]:
    try:
        deadline = parse_deadline(deadline_text, ctx.now(), ctx.rules.timezone)
        item = await review.return_(
            ctx.session,
            ctx.me,
            n,
            village_id,
            reason=reason,
            deadline=deadline,
            now=ctx.now(),
            rules=ctx.rules,
        )
    except (DeadlineError, Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    shown = show(deadline, ctx.rules.timezone)
    text = T.RETURNED.format(
        village=item.village_name, title=item.task_title, ref=item.ref, deadline=shown
    )
    return [Reply(text)]


async def return_(ctx: Context, rest: str) -> list[Reply]:
    """退回 N [村名] 理由 [/ 截止 …]."""
    n, tail = leading_number(rest)
    if n is None or not tail:
        return [Reply(T.RETURN_HOW)]
    try:
        waiting, after = await review.waiting_on(ctx.session, ctx.me, n, tail)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    reason, deadline_text = reason_and_deadline(after)
    if not reason:
        return [Reply(T.RETURN_HOW)]
    if len(waiting.items) == 1:
        return await _send_back(ctx, n, waiting.items[0].village_id, reason, deadline_text)
    if waiting.items:  # the reason waits for the village to be picked
        data = {"number": n, "reason": reason, "deadline": deadline_text}
        await ctx.set_state(REVIEW_FLOW, "village", data)
    return [_choose(waiting, T.VERB_RETURN, ReviewBack)]


async def review_button(ctx: Context, _rest: str) -> list[Reply]:
    """A village picked for 通过 (everything is in the button) or 退回 (the reason is in the
    ``review`` flow); another person's or a forged button is stale."""
    pressed = unpack(ctx.incoming.payload)
    if isinstance(pressed, ReviewPass):
        try:
            item = await review.approve(
                ctx.session, ctx.me, pressed.number, pressed.village, now=ctx.now(), rules=ctx.rules
            )
        except (Invalid, Conflict) as err:  # a refusal goes up: audited
            return [Reply(err.message)]
        return [_approved(item)]
    if not isinstance(pressed, ReviewBack):
        raise Refused(T.REVIEW_BUTTON_EXPIRED)
    state = ctx.state
    if state is None or state.flow != REVIEW_FLOW or state.data.get("number") != pressed.number:
        raise Refused(T.REVIEW_BUTTON_EXPIRED)  # the reason it was for is gone
    await ctx.clear_state()
    data = state.data
    return await _send_back(
        ctx, pressed.number, pressed.village, str(data["reason"]), str(data["deadline"])
    )


async def review_flow(ctx: Context) -> list[Reply]:
    """Inside the ``review`` flow anything but a village button (or its label) asks again."""
    assert ctx.state is not None
    return [Reply(T.PICK_VILLAGE.format(n=ctx.state.data.get("number", "")))]


async def _fixes_note(ctx: Context) -> str:
    """How many fixes (整改) wait for 复核, which has its own list with the photos."""
    _items, total = await rectify_service.awaiting_review(ctx.session, ctx.me, limit=1)
    return VT.REVIEW_WAITING_NOTE.format(n=total) if total else ""


async def waiting(ctx: Context, _rest: str) -> list[Reply]:
    items = await service.awaiting_review(ctx.session, ctx.me)
    fixes = await _fixes_note(ctx)
    if not items:
        return [Reply("\n".join(x for x in (T.NONE_WAITING, fixes) if x))]
    lines = [
        T.WAITING_LINE.format(ref=i.ref, village=i.village_name, title=i.task_title) for i in items
    ]
    extra = [fixes] if fixes else []
    return [Reply("\n".join([T.WAITING_HEAD, *paged(lines), T.WAITING_TAIL, *extra]))]


async def _all_tasks(ctx: Context) -> list[Reply]:
    tasks = await service.county_tasks(ctx.session, ctx.me)
    if not tasks:
        return [Reply(T.NO_COUNTY_TASKS)]
    lines = []
    for t in tasks:
        c = t.counts
        done = c.get(AssignmentStatus.APPROVED, 0) + c.get(AssignmentStatus.SUBMITTED, 0)
        lines.append(
            T.TASK_LINE.format(
                ref=t.task.ref,
                title=t.task.title,
                deadline=show(t.task.deadline, ctx.rules.timezone),
                done=done,
                n=sum(c.values()),
            )
        )
    return [Reply("\n".join([T.TASKS_HEAD, *paged(lines)]) + T.TASKS_TAIL)]


async def progress(ctx: Context, rest: str) -> list[Reply]:
    tid, _ = leading_number(rest)
    if tid is None:
        return await _all_tasks(ctx)
    try:
        found = await service.task_progress(ctx.session, ctx.me, tid)
    except DomainError:  # unknown, foreign and refused alike
        raise NotFound(T.NO_SUCH_TASK.format(n=tid)) from None
    task, items, now = found.task, found.items, ctx.now()
    counts: dict[str, int] = {}
    for status, n in service.status_tally(items).items():
        counts[status_zh(status)] = counts.get(status_zh(status), 0) + n
    head = T.PROGRESS_HEAD.format(
        title=task.title,
        ref=task.ref,
        deadline=show(task.deadline, ctx.rules.timezone),
        n=len(items),
    )
    summary = "，".join(f"{k} {v}" for k, v in counts.items())
    open_lines = [
        f"{i.village_name}｜{status_zh(i.status)}"
        + (T.FLAG_OVERDUE if i.overdue(now) else "")
        + (T.FLAG_NOBODY if i.assignee_id is None else "")
        for i in items
        if i.status in OPEN
    ]
    lines = [head, summary]
    if open_lines:
        lines += [T.PROGRESS_NOT_DONE, *paged(open_lines)]
    if any(i.status == AssignmentStatus.SUBMITTED for i in items):
        lines.append(T.PROGRESS_REVIEW.format(n=task.number))
    return [Reply("\n".join(lines))]


async def cancel(ctx: Context, rest: str) -> list[Reply]:
    """撤销任务 N: asks first (确认撤销 / 不撤销); nothing changes until confirmed."""
    tid, _ = leading_number(rest)
    if tid is None:
        return [Reply(T.CANCEL_HOW)]
    try:
        task = await review.cancellable(ctx.session, ctx.me, tid)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    buttons = (
        WithdrawConfirm(task.number).button(T.CANCEL_YES),
        WithdrawKeep(task.number).button(T.CANCEL_NO),
    )
    return [Reply(T.CANCEL_ASK.format(title=task.title, ref=task.ref), buttons)]


async def cancel_button(ctx: Context, _rest: str) -> list[Reply]:
    """确认撤销 / 不撤销 on the question ``cancel`` asked."""
    pressed = unpack(ctx.incoming.payload)
    try:
        if isinstance(pressed, WithdrawKeep):
            task = await review.cancellable(ctx.session, ctx.me, pressed.number)
            return [Reply(T.CANCEL_KEPT.format(title=task.title))]
        if isinstance(pressed, WithdrawConfirm):
            done = await review.cancel_task(
                ctx.session, ctx.me, pressed.number, now=ctx.now(), rules=ctx.rules
            )
            n = len(done.assignment_ids)
            return [Reply(T.CANCELLED_TOLD.format(title=done.task.title, n=n))]
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    raise Refused(T.REVIEW_BUTTON_EXPIRED)
