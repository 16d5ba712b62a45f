"""Secretaries act on their share of a task, named by the task's public number (core.numbers):
任务 (list), 任务 3 (the whole item), 收到 / 已完成 buttons, 提交 3 with text and photos (a
flow, so photos go to the submission and not to the visit photo hook). The rules and effects
are ``services.task_work``'s; this module keeps the flow state (the texts and photo ids
gathered so far) and renders the replies."""

from __future__ import annotations

from typing import Any

from core import payloads
from core.deadlines import show
from core.errors import Conflict, Invalid, Refused
from core.messages import Button, Reply, paged
from core.numbers import CODE_OF, SERIES_OF_CODE, Series, leading_number, series_of
from core.payloads import ItemAck, ItemDone, ItemSend
from core.roles import VILLAGE_ROLES
from core.statuses import OPEN, AssignmentStatus, TaskKind
from handlers import faq, intent_read
from handlers import task_texts as T
from handlers.context import Context
from handlers.registry import Command, Registry
from handlers.task_review import cancel_button, review_button
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
        ref=i.ref, title=title, deadline=show(i.deadline, ctx.rules.timezone), status=status
    )


def _is_rectify(i: AssignmentDTO) -> bool:
    return series_of(i.task_kind) == Series.PROBLEM


def _whole_item(i: AssignmentDTO, ctx: Context) -> str:
    """任务 N: everything the village needs to do the item, body included."""
    lines = [ST.ITEM_HEAD.format(ref=i.ref, title=i.task_title)]
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
        template = ST.ITEM_NEXT_RECTIFY if _is_rectify(i) else ST.ITEM_NEXT_TASK
        lines.append(template.format(n=i.task_number))
    return "\n".join(lines)


async def list_tasks(ctx: Context, rest: str) -> list[Reply]:
    number, tail = leading_number(rest)
    if number is not None and not tail:
        return [Reply(_whole_item(await work.my_item(ctx.session, ctx.me, number), ctx))]
    items = await service.open_items(ctx.session, ctx.me)
    if not items:
        return [Reply(T.NO_TASKS)]
    lines = [_list_line(i, ctx) for i in items]
    tail_lines = [T.LIST_TAIL] + ([T.LIST_TAIL_RECTIFY] if any(map(_is_rectify, items)) else [])
    return [Reply("\n".join([T.LIST_HEAD, *paged(lines), *tail_lines]))]


def _acked(item: AssignmentDTO) -> Reply:
    if item.task_kind == TaskKind.NOTICE:
        nxt = ""
    else:
        nxt = (T.ACK_NEXT_RECTIFY if _is_rectify(item) else T.ACK_NEXT_TASK).format(
            n=item.task_number
        )
    return Reply(T.ACKED.format(title=item.task_title, next=nxt))


async def acknowledge(ctx: Context, number: int, series: Series = Series.TASK) -> list[Reply]:
    """收到 on an item named by its number: the 收到 button, or a typed 收到 after its push
    (handlers/intent.py). A refusal of the use case (the item is closed) is the answer; a
    number not the person's is raised (audited)."""
    try:
        item = await work.ack(ctx.session, ctx.me, number, now=ctx.now(), series=series)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    return [_acked(item)]


async def button(ctx: Context, _rest: str) -> list[Reply]:
    """收到 / 已完成 / 好了，提交 on an item named by its series and number; an old button (an
    assignment id) never gets here: its prefix is gone, so the router calls it stale."""
    pressed = payloads.unpack(ctx.incoming.payload)
    if not isinstance(pressed, ItemAck | ItemDone | ItemSend):
        raise Refused(T.BUTTON_EXPIRED)
    series = SERIES_OF_CODE.get(pressed.series)
    if series is None:
        raise Refused(T.BUTTON_EXPIRED)
    session, me, number = ctx.session, ctx.me, pressed.number
    try:
        if isinstance(pressed, ItemAck):
            return await acknowledge(ctx, number, series)
        if isinstance(pressed, ItemDone):
            item = await work.begin_submission(
                session, me, number, now=ctx.now(), series=series, receipt=True
            )
            return await _start_submit(ctx, item, "")
        item = await work.my_item(session, me, number, series)
        if ctx.state is None or ctx.state.data.get("assignment") != item.id:
            raise Refused(T.BUTTON_EXPIRED)
        return await _finish(ctx)
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]


async def submit(ctx: Context, rest: str) -> list[Reply]:
    number, text = leading_number(rest)
    if number is None:
        return [Reply(T.ASK_ID)]
    try:
        item = await work.begin_submission(ctx.session, ctx.me, number, now=ctx.now())
    except (Invalid, Conflict) as err:  # a refusal goes up: audited
        return [Reply(err.message)]
    return await _start_submit(ctx, item, text)


def _send_button(kind: str, number: int) -> tuple[Button, ...]:
    return (ItemSend(CODE_OF[series_of(kind)], number).button(T.BUTTON_SUBMIT),)


async def _start_submit(ctx: Context, item: AssignmentDTO, text: str) -> list[Reply]:
    texts = [text] if text else []
    # The flow keeps the item's row id: internal state, never shown (buttons carry numbers).
    await ctx.set_state(
        FLOW,
        "collect",
        {"assignment": item.id, "kind": item.task_kind, "number": item.task_number}
        | {"texts": texts, "photos": []},
    )
    if text and not item.evidence_required:
        return await _finish(ctx)
    start = T.SUBMIT_START.format(title=item.task_title)
    if item.evidence_required and item.task_kind == TaskKind.TASK:
        start += "\n" + T.SUBMIT_NEEDS_PHOTO
    return [Reply(start, _send_button(item.task_kind, item.task_number))]


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
    except Invalid as err:  # e.g. 需要照片 and none yet: the flow stays, what was sent is kept
        return [Reply(err.message, _send_button(str(data["kind"]), int(data["number"])))]
    except Conflict as err:
        await ctx.clear_state()
        return [Reply(err.message)]
    await ctx.clear_state()
    return [Reply(T.SUBMITTED.format(title=item.task_title, ref=item.ref))]


async def flow_step(ctx: Context) -> list[Reply]:
    state = ctx.state
    assert state is not None
    data = dict(state.data)
    inc = ctx.incoming
    if inc.kind == "text" and inc.text.strip() in DONE_WORDS:
        return await _finish(ctx)
    if len(data["texts"]) + len(data["photos"]) >= MAX_EVIDENCE_TEXTS:
        return [Reply(T.SUBMIT_FULL.format(n=MAX_EVIDENCE_TEXTS))]
    if inc.kind in ("photo", "voice") and inc.photo:
        photo_id = await work.record_photo(
            ctx.session, ctx.me, inc.photo, now=ctx.now(), rules=ctx.rules
        )
        if photo_id not in data["photos"]:
            data["photos"] = [*data["photos"], photo_id]
        got = T.SUBMIT_GOT_VOICE if inc.kind == "voice" else T.SUBMIT_GOT_PHOTO
    elif inc.kind == "text" and inc.text.strip():
        aside = await _aside(ctx, inc.text.strip(), data)
        if aside is not None:
            return aside
        data["texts"] = [*data["texts"], inc.text.strip()]
        got = T.SUBMIT_GOT_TEXT
    else:
        return [Reply(T.SUBMIT_EMPTY)]
    await ctx.set_state(FLOW, "collect", data)
    counts = got.format(t=len(data["texts"]), p=len(data["photos"]))
    return [Reply(counts, _flow_send_button(data))]


def _flow_send_button(data: dict[str, Any]) -> tuple[Button, ...]:
    """好了，提交 for the item the flow collects for (a flow begun before public numbers has
    no number: it is finished by typing 好了)."""
    number, kind = data.get("number"), data.get("kind", TaskKind.TASK.value)
    return _send_button(kind, number) if isinstance(number, int) else ()


async def _aside(ctx: Context, text: str, data: dict[str, Any]) -> list[Reply] | None:
    """Inside a submission, a greeting or a thanks is answered and not stored, and a policy
    question goes to the FAQ; ``None`` for the submission's own text (handlers/intent_read)."""
    reading = intent_read.read(text, intent_read.Situation(submission_open=True))
    if reading.intent == intent_read.QUESTION:
        return [*(await faq.ask(ctx, text)), Reply(T.SUBMIT_STILL_OPEN)]
    if reading.intent == intent_read.UNCLEAR:
        return [Reply(T.SUBMIT_NOT_STORED, _flow_send_button(data))]
    return None


def register(registry: Registry) -> None:
    village = frozenset(VILLAGE_ROLES)
    registry.flow(FLOW, flow_step)
    registry.button("item", button)
    registry.button("rv", review_button)
    registry.button("withdraw", cancel_button)
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
