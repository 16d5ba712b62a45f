"""County staff send tasks and notices down to villages (发任务 / 发通知), review submissions
(通过 / 退回), follow progress and see messages that could not be delivered (死信)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.channel import spread
from core.deadlines import DeadlineError, parse_deadline, show
from core.messages import Button, Reply, paged
from core.roles import COUNTY_ROLES
from core.rules import Rules
from core.statuses import OUTBOX_ZH, OutboxStatus
from handlers import task_texts as T
from handlers.context import Context, Refused
from handlers.registry import Command, Registry
from storage import outbox
from storage import tasks as store
from storage.readmodels.dead_letters import dead_letters as dead_letter_list
from storage.tasks import DEFAULT_OFFSETS
from tasks.reminders import cancel_reminders, first_remind_at

FLOW = "broadcast"


def push_body(task: store.TaskDTO, item: store.AssignmentDTO, rules: Rules) -> dict[str, Any]:
    body = f"{task.body}\n" if task.body else ""
    if task.kind == "notice":
        text = T.PUSH_NOTICE.format(title=task.title, body=body)
        buttons: tuple[Button, ...] = (Button("收到", f"task:ack:{item.id}"),)
    else:
        text = T.PUSH_TASK.format(
            title=task.title,
            body=body,
            deadline=show(item.deadline, rules.timezone),
            evidence=T.EVIDENCE_NEEDED if task.evidence_required else "",
            id=item.id,
        )
        buttons = (Button("收到", f"task:ack:{item.id}"), Button("已完成", f"task:done:{item.id}"))
    return Reply(text, buttons, meta={"kind": task.kind, "assignment": item.id}).to_dict()


async def publish(
    session: AsyncSession,
    task: store.TaskDTO,
    items: list[store.AssignmentDTO],
    now: datetime,
    rules: Rules,
) -> int:
    """Queue the push of a new task to every assignee (key ``task:{assignment}``)."""
    reachable = [i for i in items if i.assignee_id is not None]
    start = rules.after_quiet_hours(now)
    rows = [
        {
            "recipient_id": i.assignee_id,
            "body": push_body(task, i, rules),
            "idempotency_key": f"task:{i.id}",
            "not_before": spread(f"task:{i.id}", len(reachable), start),
        }
        for i in reachable
    ]
    return await outbox.enqueue_many(session, rows, now)


def parse_scope(text: str) -> dict[str, Any]:
    """``全县`` | ``东岭镇、石门村`` -> a scope dict; names ending in 镇/乡 are townships."""
    names = [n for n in re.split(r"[、,，;；\s]+", text.strip()) if n]
    if not names or any(n in ("全县", "全部", "所有村") for n in names):
        return {"county": True}
    towns = [n for n in names if n.endswith(("镇", "乡", "街道"))]
    villages = [n for n in names if n not in towns]
    scope: dict[str, Any] = {}
    if towns:
        scope["townships"] = towns
    if villages:
        scope["villages"] = villages
    return scope


def parse_one_liner(text: str) -> dict[str, Any]:
    """``标题 / 截止 12月5日前 / 范围 东岭镇 / 需要照片`` -> draft fields (unvalidated)."""
    parts = [p.strip() for p in re.split(r"\s*[/／\n]\s*", text) if p.strip()]
    draft: dict[str, Any] = {}
    for part in parts:
        head = part[:2]
        rest = part[2:].strip(" ：:")
        if head in ("截止", "期限"):
            draft["deadline_text"] = rest
        elif head in ("范围", "发给"):
            draft["scope_text"] = rest
        elif head in ("内容", "正文", "说明"):
            draft["body"] = rest
        elif part.startswith(("需要照片", "需要材料", "要照片", "需要佐证")):
            draft["evidence"] = True
        elif "title" not in draft:
            draft["title"] = part
        else:
            draft["body"] = (draft.get("body", "") + "\n" + part).strip()
    return draft


async def _create(ctx: Context, kind: str, draft: dict[str, Any]) -> list[Reply]:
    """Create from a complete draft, or ask for the first missing or wrong field."""
    me = ctx.me
    if not draft.get("title"):
        await ctx.set_state(FLOW, "title", {"kind": kind, **draft})
        return [Reply(T.ASK_TITLE)]
    deadline = None
    if kind != "notice":
        if not draft.get("deadline_text"):
            await ctx.set_state(FLOW, "deadline", {"kind": kind, **draft})
            return [Reply(T.ASK_DEADLINE)]
        try:
            deadline = parse_deadline(draft["deadline_text"], ctx.now(), ctx.rules.timezone)
        except DeadlineError as err:
            await ctx.set_state(FLOW, "deadline", {"kind": kind, **draft})
            return [Reply(err.message)]
    if "scope_text" not in draft:
        await ctx.set_state(FLOW, "scope", {"kind": kind, **draft})
        return [Reply(T.ASK_SCOPE)]
    scope = parse_scope(draft["scope_text"])
    try:
        village_ids = await store.resolve_scope(ctx.session, me.region_id, scope)
        task, items = await store.create_task(
            ctx.session,
            kind=kind,
            title=draft["title"],
            body=draft.get("body", ""),
            created_by=me.id,
            county_id=me.region_id,
            village_ids=village_ids,
            now=ctx.now(),
            deadline=deadline,
            evidence_required=bool(draft.get("evidence")),
            scope=scope,
            remind_at=first_remind_at(deadline, DEFAULT_OFFSETS, ctx.rules, ctx.now()),
        )
    except store.TaskError as err:
        await ctx.set_state(FLOW, "scope", {"kind": kind, **draft})
        return [Reply(f"{err.message}\n{T.ASK_SCOPE}")]
    await ctx.clear_state()
    await publish(ctx.session, task, items, ctx.now(), ctx.rules)
    await ctx.audit("task.create", f"task:{task.id}", {"villages": len(items), "kind": kind})
    missing = [i.village_name for i in items if i.assignee_id is None]
    missing_text = (
        T.SENT_MISSING.format(n=len(missing), names="、".join(paged(missing, 10, "……等")))
        if missing
        else ""
    )
    return [
        Reply(
            T.SENT.format(
                kind="通知" if kind == "notice" else "任务",
                title=task.title,
                task=task.id,
                n=len(items),
                deadline=f"截止 {show(deadline, ctx.rules.timezone)}。" if deadline else "",
                missing=missing_text,
            )
        )
    ]


def _require_county(ctx: Context) -> None:
    if ctx.me.role not in COUNTY_ROLES or ctx.me.region_level != "county":
        raise Refused(T.SECRETARY_CANNOT_SEND)


async def send_task(ctx: Context, rest: str) -> list[Reply]:
    _require_county(ctx)
    if not rest:
        await ctx.set_state(FLOW, "title", {"kind": "task"})
        return [Reply(f"{T.ASK_TITLE}\n\n{T.HOW_TO_SEND}")]
    return await _create(ctx, "task", parse_one_liner(rest))


async def send_notice(ctx: Context, rest: str) -> list[Reply]:
    _require_county(ctx)
    if not rest:
        await ctx.set_state(FLOW, "title", {"kind": "notice"})
        return [Reply(T.ASK_TITLE)]
    return await _create(ctx, "notice", parse_one_liner(rest))


async def flow_step(ctx: Context) -> list[Reply]:
    state = ctx.state
    assert state is not None
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not text:
        return [
            Reply({"title": T.ASK_TITLE, "deadline": T.ASK_DEADLINE}.get(state.step, T.ASK_SCOPE))
        ]
    draft = dict(state.data)
    kind = draft.pop("kind", "task")
    field = {"title": "title", "deadline": "deadline_text"}.get(state.step, "scope_text")
    if state.step == "title":
        draft.update({k: v for k, v in parse_one_liner(text).items() if k not in draft})
    else:
        draft[field] = text
    return await _create(ctx, kind, draft)


def _assignment_id(rest: str) -> tuple[int | None, str]:
    m = re.match(r"#?(\d{1,9})\s*(.*)", rest.strip(), re.S)
    return (int(m.group(1)), m.group(2).strip()) if m else (None, rest)


async def approve(ctx: Context, rest: str) -> list[Reply]:
    aid, _ = _assignment_id(rest)
    if aid is None:
        return [Reply(T.ASK_ID.replace("提交", "通过"))]
    try:
        item = await store.approve(ctx.session, aid, ctx.me.id, ctx.me.region_id, ctx.now())
    except store.TaskError as err:
        return [Reply(err.message)]
    await cancel_reminders(ctx.session, [aid])
    await ctx.audit("task.approve", f"assignment:{aid}")
    if item.assignee_id:
        await ctx.push(
            item.assignee_id,
            Reply(T.PUSH_APPROVED.format(title=item.task_title)),
            f"task:{aid}:approved",
            respect_quiet_hours=True,
        )
    return [Reply(T.APPROVED.format(village=item.village_name, title=item.task_title, id=aid))]


async def return_(ctx: Context, rest: str) -> list[Reply]:
    aid, tail = _assignment_id(rest)
    if aid is None or not tail:
        return [Reply(T.RETURN_HOW)]
    deadline_text = ""
    pieces = re.split(r"\s*[/／]\s*", tail)
    reason = pieces[0]
    for piece in pieces[1:]:
        if piece.startswith(("截止", "期限")):
            deadline_text = piece[2:].strip(" ：:")
    try:
        deadline = parse_deadline(deadline_text or "3天内", ctx.now(), ctx.rules.timezone)
    except DeadlineError as err:
        return [Reply(err.message)]
    try:
        item = await store.return_(
            ctx.session,
            aid,
            ctx.me.id,
            ctx.me.region_id,
            ctx.now(),
            reason=reason[:500],
            deadline=deadline,
        )
    except store.TaskError as err:
        return [Reply(err.message)]
    await ctx.audit("task.return", f"assignment:{aid}", {"reason": reason[:200]})
    shown = show(deadline, ctx.rules.timezone)
    if item.assignee_id:
        await ctx.push(
            item.assignee_id,
            Reply(
                T.PUSH_RETURNED.format(
                    title=item.task_title, reason=reason, deadline=shown, id=aid
                ),
                (Button("收到", f"task:ack:{aid}"),),
            ),
            f"task:{aid}:returned:{item.returns}",
            respect_quiet_hours=True,
        )
    return [
        Reply(
            T.RETURNED.format(
                village=item.village_name, title=item.task_title, id=aid, deadline=shown
            )
        )
    ]


async def waiting(ctx: Context, _rest: str) -> list[Reply]:
    items = await store.awaiting_review(ctx.session, ctx.me.region_id)
    if not items:
        return [Reply(T.NONE_WAITING)]
    lines = [f"{i.id}. {i.village_name}｜{i.task_title}" for i in items]
    return [Reply("\n".join([T.WAITING_HEAD, *paged(lines)]))]


async def progress(ctx: Context, rest: str) -> list[Reply]:
    tid, _ = _assignment_id(rest)
    if tid is None:
        tasks = await store.tasks_of_county(ctx.session, ctx.me.region_id)
        if not tasks:
            return [Reply(T.NO_COUNTY_TASKS)]
        counts = await store.status_counts(ctx.session, [t.id for t in tasks])
        lines = []
        for t in tasks:
            c = counts[t.id]
            done = c.get("approved", 0) + c.get("submitted", 0)
            lines.append(
                f"{t.id}. {t.title}｜截止 {show(t.deadline, ctx.rules.timezone)}｜已交 {done}/{sum(c.values())}"
            )
        return [Reply("\n".join([T.TASKS_HEAD, *paged(lines)]) + "\n发送「进度 编号」看各村情况。")]
    task = await store.get_task(ctx.session, tid)
    if task is None or task.county_id != ctx.me.region_id:
        return [Reply(f"没有编号为 {tid} 的本县任务。发送「进度」查看全部。")]
    items = await store.assignments_of_task(ctx.session, tid)
    counts: dict[str, int] = {}
    for i in items:
        counts[store.STATUS_ZH.get(i.status, i.status)] = (
            counts.get(store.STATUS_ZH.get(i.status, i.status), 0) + 1
        )
    head = T.PROGRESS_HEAD.format(
        title=task.title, task=tid, deadline=show(task.deadline, ctx.rules.timezone), n=len(items)
    )
    summary = "，".join(f"{k} {v}" for k, v in counts.items())
    open_lines = [
        f"{i.id}. {i.village_name}｜{store.STATUS_ZH.get(i.status, i.status)}"
        + ("｜逾期" if i.overdue(ctx.now()) else "")
        + ("｜无人接收" if i.assignee_id is None else "")
        for i in items
        if i.status in store.OPEN
    ]
    lines = [head, summary]
    if open_lines:
        lines += [T.PROGRESS_NOT_DONE, *paged(open_lines)]
    return [Reply("\n".join(lines))]


async def cancel(ctx: Context, rest: str) -> list[Reply]:
    tid, _ = _assignment_id(rest)
    if tid is None:
        return [Reply("请写上任务编号，例如：撤销任务 12")]
    try:
        ids = await store.cancel_task(ctx.session, tid, ctx.me.region_id, ctx.now())
    except store.TaskError as err:
        return [Reply(err.message)]
    await cancel_reminders(ctx.session, ids)
    task = await store.get_task(ctx.session, tid)
    assert task is not None
    await ctx.audit("task.cancel", f"task:{tid}", {"assignments": len(ids)})
    return [Reply(T.CANCELLED_TASK.format(title=task.title, n=len(ids)))]


async def dead_letters(ctx: Context, _rest: str) -> list[Reply]:
    """Messages that could not be delivered to people of this county (死信)."""
    rows = await dead_letter_list(ctx.session, ctx.me.region_id)
    if not rows:
        return [Reply(T.DEAD_NONE)]
    lines = [
        T.DEAD_LINE.format(
            id=d.id,
            name=d.recipient,
            status=OUTBOX_ZH.get(OutboxStatus(d.status), d.status),
            error=(d.error or "")[:40],
        )
        for d in rows
    ]
    return [Reply("\n".join([T.DEAD_HEAD, *paged(lines)]))]


def register(registry: Registry) -> None:
    county = frozenset(COUNTY_ROLES)
    registry.flow(FLOW, flow_step)
    registry.command(
        Command(
            ("发任务", "/task"),
            send_task,
            county,
            "发任务 标题 / 截止 12月5日前 / 范围 东岭镇 — 给各村派任务",
            prefix=True,
            order=300,
        )
    )
    registry.command(
        Command(
            ("发通知", "/notice"),
            send_notice,
            county,
            "发通知 标题 / 内容 …… — 给各村发通知",
            prefix=True,
            order=301,
        )
    )
    registry.command(Command(("通过",), approve, county, "通过 编号 — 审核通过一项提交", order=310))
    registry.command(
        Command(
            ("退回",), return_, county, "退回 编号 理由 — 退回重做（可加 / 截止 本周五）", order=311
        )
    )
    registry.command(
        Command(("待审核",), waiting, county, "待审核 — 查看各村提交的材料", order=312)
    )
    registry.command(
        Command(("进度", "任务进度"), progress, county, "进度 [编号] — 任务完成情况", order=313)
    )
    registry.command(
        Command(("撤销任务",), cancel, county, "撤销任务 编号 — 撤回任务并停止提醒", order=314)
    )
    registry.command(
        Command(("死信", "发送失败"), dead_letters, county, "死信 — 查看发送失败的消息", order=390)
    )
