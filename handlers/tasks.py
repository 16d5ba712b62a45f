"""Secretaries act on their assignments: 任务 (list), 收到 / 已完成 buttons, 提交 <编号> with
text and photos (a flow, so photos go to the submission and not to the visit photo hook).
The rules and effects are ``services.task_work``'s; this module keeps the flow state (the
texts and photo ids gathered so far) and renders the replies."""

from __future__ import annotations

import re
from typing import Any

from core import payloads
from core.deadlines import show
from core.errors import Conflict, Invalid, Refused
from core.messages import Reply, paged
from core.payloads import ReviewApprove, TaskAck, TaskDone, TaskSend
from core.roles import COUNTY_ROLES, VILLAGE_ROLES
from core.statuses import OPEN, AssignmentStatus, TaskKind
from handlers import faq, intent_read
from handlers import task_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.task_review import approve, cancel_button
from services import task_texts as ST
from services import task_work as work
from services import tasks as service
from storage.tasks import MAX_EVIDENCE_TEXTS, AssignmentDTO

FLOW = "submit"
DONE_WORDS = frozenset({"好了", "完成", "提交", "发完了", "就这些", "ok", "OK"})
_KIND_MARK = {TaskKind.RECTIFY: T.MARK_RECTIFY, TaskKind.NOTICE: T.MARK_NOTICE}


def _list_line(i: AssignmentDTO, ctx: Context) -> str:
    status = work.status_zh(i.status)
    if i.overdue(ctx.now()):
        status += T.OVERDUE_MARK
    if i.status == AssignmentStatus.RETURNED and i.return_reason:
        status += T.RETURN_REASON.format(reason=i.return_reason[:30])
    title = _KIND_MARK.get(TaskKind(i.task_kind), "") + i.task_title
    return T.LIST_LINE.format(
        id=i.id, title=title, deadline=show(i.deadline, ctx.rules.timezone), status=status
    )


_ITEM_KIND = {TaskKind.NOTICE: ST.KIND_NOTICE_ZH, TaskKind.RECTIFY: ST.KIND_RECTIFY_ZH}


def _whole_item(i: AssignmentDTO, ctx: Context) -> str:
    """任务 N: everything the village needs to do the item, body included."""
    lines = [
        ST.ITEM_HEAD.format(
            kind=_ITEM_KIND.get(TaskKind(i.task_kind), ST.KIND_TASK_ZH), id=i.id, title=i.task_title
        )
    ]
    if i.task_body.strip():
        lines.append(ST.ITEM_BODY.format(body=i.task_body.strip()))
    if i.deadline is not None:
        lines.append(ST.ITEM_DEADLINE.format(at=show(i.deadline, ctx.rules.timezone)))
    if i.evidence_required:
        lines.append(ST.ITEM_EVIDENCE.format(what=ST.ITEM_EVIDENCE_PHOTO))
    lines.append(ST.ITEM_STATUS.format(status=work.status_zh(i.status)))
    if i.status == AssignmentStatus.RETURNED and i.return_reason:
        lines.append(ST.ITEM_RETURNED.format(reason=i.return_reason))
    if i.task_kind != TaskKind.NOTICE and i.status in OPEN:
        lines.append(ST.ITEM_NEXT_TASK.format(id=i.id))
    return "\n".join(lines)


async def list_tasks(ctx: Context, rest: str) -> list[Reply]:
    m = re.fullmatch(r"#?(\d{1,9})", rest.strip())
    if m:
        return [Reply(_whole_item(await work.my_item(ctx.session, ctx.me, int(m.group(1))), ctx))]
    items = await service.open_items(ctx.session, ctx.me)
    if not items:
        return [Reply(T.NO_TASKS)]
    lines = [_list_line(i, ctx) for i in items]
    return [Reply("\n".join([T.LIST_HEAD, *paged(lines), T.LIST_TAIL]))]


async def acknowledge(ctx: Context, assignment_id: int) -> list[Reply]:
    """收到 on an item: the 收到 button, or a typed 收到 after its push (handlers/intent.py).
    A refusal of the use case (the item is closed) is the answer; an id not the person's
    is raised (audited)."""
    try:
        item = await work.ack(ctx.session, ctx.me, assignment_id, now=ctx.now())
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    nxt = "" if item.task_kind == TaskKind.NOTICE else T.ACK_NEXT_TASK.format(id=item.id)
    return [Reply(T.ACKED.format(title=item.task_title, next=nxt), meta={"kind": "task_acked"})]


async def button(ctx: Context, _rest: str) -> list[Reply]:
    pressed = payloads.unpack(ctx.incoming.payload)
    if isinstance(pressed, TaskAck):
        return await acknowledge(ctx, pressed.assignment)
    try:
        if isinstance(pressed, TaskDone):
            item = await work.begin_submission(
                ctx.session, ctx.me, pressed.assignment, now=ctx.now(), receipt=True
            )
            return await _start_submit(ctx, item, "")
        if isinstance(pressed, TaskSend):
            await work.my_item(ctx.session, ctx.me, pressed.assignment)
            return await _finish(ctx)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    raise Refused(T.BUTTON_EXPIRED)


async def submit(ctx: Context, rest: str) -> list[Reply]:
    m = re.match(r"#?(\d{1,9})\s*(.*)", rest, re.S)
    if not m:
        return [Reply(T.ASK_ID)]
    try:
        item = await work.begin_submission(ctx.session, ctx.me, int(m.group(1)), now=ctx.now())
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    return await _start_submit(ctx, item, m.group(2).strip())


def _send_button(assignment_id: int) -> tuple[Any, ...]:
    return (TaskSend(assignment_id).button(T.BUTTON_SUBMIT),)


async def _start_submit(ctx: Context, item: AssignmentDTO, text: str) -> list[Reply]:
    texts = [text] if text else []
    await ctx.set_state(FLOW, "collect", {"assignment": item.id, "texts": texts, "photos": []})
    if text and not item.evidence_required:
        return await _finish(ctx)
    return [Reply(T.SUBMIT_START.format(title=item.task_title), _send_button(item.id))]


async def _finish(ctx: Context) -> list[Reply]:
    state = ctx.state
    if state is None or state.flow != FLOW:
        raise Refused(T.BUTTON_EXPIRED)
    data = state.data
    if not data["texts"] and not data["photos"]:
        return [Reply(T.SUBMIT_EMPTY)]
    try:
        item = await work.submit(
            ctx.session,
            ctx.me,
            data["assignment"],
            texts=data["texts"],
            # ids since migration 0002; a flow begun before it may still hold SHA-256s
            photo_ids=[p for p in data["photos"] if isinstance(p, int)],
            now=ctx.now(),
            rules=ctx.rules,
        )
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        await ctx.clear_state()
        return [Reply(err.message)]
    await ctx.clear_state()
    return [Reply(T.SUBMITTED.format(title=item.task_title))]


async def flow_step(ctx: Context) -> list[Reply]:
    state = ctx.state
    assert state is not None
    data = dict(state.data)
    inc = ctx.incoming
    if inc.kind == "text" and inc.text.strip() in DONE_WORDS:
        return await _finish(ctx)
    if len(data["texts"]) + len(data["photos"]) >= MAX_EVIDENCE_TEXTS:
        return [Reply(T.SUBMIT_FULL.format(n=MAX_EVIDENCE_TEXTS))]
    if inc.kind == "photo" and inc.photo:
        photo_id = await work.record_photo(
            ctx.session, ctx.me, inc.photo, now=ctx.now(), rules=ctx.rules
        )
        if photo_id not in data["photos"]:
            data["photos"] = [*data["photos"], photo_id]
        got = T.SUBMIT_GOT_PHOTO
    elif inc.kind == "text" and inc.text.strip():
        aside = await _aside(ctx, inc.text.strip(), data["assignment"])
        if aside is not None:
            return aside
        data["texts"] = [*data["texts"], inc.text.strip()]
        got = T.SUBMIT_GOT_TEXT
    else:
        return [Reply(T.SUBMIT_EMPTY)]
    await ctx.set_state(FLOW, "collect", data)
    counts = got.format(t=len(data["texts"]), p=len(data["photos"]))
    return [Reply(counts, _send_button(data["assignment"]))]


async def _aside(ctx: Context, text: str, assignment_id: int) -> list[Reply] | None:
    """Inside a submission, a greeting or a thanks is answered and not stored, and a policy
    question goes to the FAQ; ``None`` for the submission's own text (handlers/intent_read)."""
    reading = intent_read.read(text, intent_read.Situation(submission_open=True))
    if reading.intent == intent_read.QUESTION:
        return [*(await faq.ask(ctx, text)), Reply(T.SUBMIT_STILL_OPEN)]
    if reading.intent == intent_read.UNCLEAR:
        return [Reply(T.SUBMIT_NOT_STORED, _send_button(assignment_id))]
    return None


async def review_button(ctx: Context, _rest: str) -> list[Reply]:
    pressed = ReviewApprove.parse(ctx.incoming.payload)
    if pressed is None or ctx.me.role not in COUNTY_ROLES:
        raise Refused(T.REVIEW_BUTTON_EXPIRED)
    return await approve(ctx, str(pressed.assignment))


def register(registry: Registry) -> None:
    village = frozenset(VILLAGE_ROLES)
    registry.flow(FLOW, flow_step)
    registry.button("task", button)
    registry.button("review", review_button)
    registry.button("tcancel", cancel_button)
    registry.command(
        Command(
            ("任务", "我的任务", "/tasks"),
            list_tasks,
            village,
            "任务 [编号] — 查看要办的任务",
            order=200,
        )
    )
    registry.command(
        Command(
            ("提交", "/submit"),
            submit,
            village,
            "提交 编号 — 上报任务完成情况（文字、照片）",
            prefix=True,
            order=201,
        )
    )
