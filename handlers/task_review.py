"""County staff follow and review tasks in the chat: 通过 / 退回 a submission, 待审核, 进度,
撤销任务. Parses the command, calls ``services.task_review`` / ``services.tasks`` and renders."""

from __future__ import annotations

import re

from core.deadlines import DeadlineError, parse_deadline, show
from core.errors import Conflict, DomainError, Invalid, NotFound, Refused
from core.messages import Reply, paged
from core.payloads import TaskCancelConfirm, TaskCancelKeep, unpack
from core.statuses import OPEN, AssignmentStatus
from handlers import task_texts as T
from handlers import visit_texts as VT
from handlers.context import Context
from services import rectify as rectify_service
from services import task_review as review
from services import tasks as service
from services.task_work import status_zh

DEFAULT_RETURN_DEADLINE = "3天内"


def number(rest: str) -> tuple[int | None, str]:
    """``#12 理由`` -> (12, "理由"); (None, rest) when it does not start with a number."""
    m = re.match(r"#?(\d{1,9})\s*(.*)", rest.strip(), re.S)
    return (int(m.group(1)), m.group(2).strip()) if m else (None, rest)


async def approve(ctx: Context, rest: str) -> list[Reply]:
    aid, _ = number(rest)
    if aid is None:
        return [Reply(T.ASK_ID_APPROVE)]
    try:
        item = await review.approve(ctx.session, ctx.me, aid, now=ctx.now(), rules=ctx.rules)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    return [Reply(T.APPROVED.format(village=item.village_name, title=item.task_title, id=aid))]


def reason_and_deadline(tail: str) -> tuple[str, str]:
    pieces = re.split(r"\s*[/／]\s*", tail)
    deadline_text = ""
    for piece in pieces[1:]:
        if piece.startswith(("截止", "期限")):
            deadline_text = piece[2:].strip(" ：:")
    return pieces[0], deadline_text or DEFAULT_RETURN_DEADLINE


async def return_(ctx: Context, rest: str) -> list[Reply]:
    aid, tail = number(rest)
    if aid is None or not tail:
        return [Reply(T.RETURN_HOW)]
    reason, deadline_text = reason_and_deadline(tail)
    try:
        deadline = parse_deadline(deadline_text, ctx.now(), ctx.rules.timezone)
        item = await review.return_(
            ctx.session,
            ctx.me,
            aid,
            reason=reason,
            deadline=deadline,
            now=ctx.now(),
            rules=ctx.rules,
        )
    except (DeadlineError, Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    shown = show(deadline, ctx.rules.timezone)
    return [
        Reply(
            T.RETURNED.format(
                village=item.village_name, title=item.task_title, id=aid, deadline=shown
            )
        )
    ]


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
        T.WAITING_LINE.format(id=i.id, village=i.village_name, title=i.task_title) for i in items
    ]
    return [Reply("\n".join([T.WAITING_HEAD, *paged(lines), *([fixes] if fixes else [])]))]


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
                id=t.task.id,
                title=t.task.title,
                deadline=show(t.task.deadline, ctx.rules.timezone),
                done=done,
                n=sum(c.values()),
            )
        )
    return [Reply("\n".join([T.TASKS_HEAD, *paged(lines)]) + T.TASKS_TAIL)]


async def progress(ctx: Context, rest: str) -> list[Reply]:
    tid, _ = number(rest)
    if tid is None:
        return await _all_tasks(ctx)
    try:
        found = await service.task_progress(ctx.session, ctx.me, tid)
    except DomainError:  # unknown, foreign and refused alike
        raise NotFound(T.NO_SUCH_TASK.format(id=tid)) from None
    task, items, now = found.task, found.items, ctx.now()
    counts: dict[str, int] = {}
    for status, n in service.status_tally(items).items():
        counts[status_zh(status)] = counts.get(status_zh(status), 0) + n
    head = T.PROGRESS_HEAD.format(
        title=task.title, task=tid, deadline=show(task.deadline, ctx.rules.timezone), n=len(items)
    )
    summary = "，".join(f"{k} {v}" for k, v in counts.items())
    open_lines = [
        f"{i.id}. {i.village_name}｜{status_zh(i.status)}"
        + (T.FLAG_OVERDUE if i.overdue(now) else "")
        + (T.FLAG_NOBODY if i.assignee_id is None else "")
        for i in items
        if i.status in OPEN
    ]
    lines = [head, summary]
    if open_lines:
        lines += [T.PROGRESS_NOT_DONE, *paged(open_lines)]
    return [Reply("\n".join(lines))]


async def cancel(ctx: Context, rest: str) -> list[Reply]:
    """撤销任务 N: asks first (确认撤销 / 不撤销); nothing changes until confirmed."""
    tid, _ = number(rest)
    if tid is None:
        return [Reply(T.CANCEL_HOW)]
    try:
        task = await review.cancellable(ctx.session, ctx.me, tid)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    buttons = (
        TaskCancelConfirm(tid).button(T.CANCEL_YES),
        TaskCancelKeep(tid).button(T.CANCEL_NO),
    )
    return [Reply(T.CANCEL_ASK.format(title=task.title, id=tid), buttons)]


async def cancel_button(ctx: Context, _rest: str) -> list[Reply]:
    """确认撤销 / 不撤销 on the question ``cancel`` asked."""
    pressed = unpack(ctx.incoming.payload)
    try:
        if isinstance(pressed, TaskCancelKeep):
            task = await review.cancellable(ctx.session, ctx.me, pressed.task)
            return [Reply(T.CANCEL_KEPT.format(title=task.title))]
        if isinstance(pressed, TaskCancelConfirm):
            done = await review.cancel_task(
                ctx.session, ctx.me, pressed.task, now=ctx.now(), rules=ctx.rules
            )
            n = len(done.assignment_ids)
            return [Reply(T.CANCELLED_TOLD.format(title=done.task.title, n=n))]
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    raise Refused(T.REVIEW_BUTTON_EXPIRED)
