"""Secretaries act on their assignments: 任务 (list), 收到 / 已完成 buttons, 提交 <编号> with
text and photos (a flow, so photos go to the submission and not to the visit photo hook), and
everyone's digest settings (设置 早报 08:00 / 设置 早报 关)."""

from __future__ import annotations

import re
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.deadlines import show
from core.messages import Button, Reply, paged
from core.roles import COUNTY_ROLES, ROLES, VILLAGE_ROLES
from core.rules import parse_hhmm
from handlers import task_texts as T
from handlers.broadcast import approve
from handlers.context import Context
from handlers.registry import Command, Registry
from storage import people as people_store
from storage import tasks as store
from storage.models import OutboxMessage, Photo
from storage.upsert import insert_ignore
from tasks.reminders import cancel_reminders

FLOW = "submit"
DONE_WORDS = frozenset({"好了", "完成", "提交", "发完了", "就这些", "ok", "OK"})


async def mark_acked(
    session: AsyncSession, assignment_id: int, person_id: int, now: datetime
) -> None:
    """Receipt: the pushes about this assignment were acknowledged (收到)."""
    await session.execute(
        sa.update(OutboxMessage)
        .where(
            OutboxMessage.recipient_id == person_id,  # indexed; keeps this off a full scan
            sa.or_(
                OutboxMessage.idempotency_key == f"task:{assignment_id}",
                OutboxMessage.idempotency_key.startswith(f"remind:{assignment_id}:"),
                OutboxMessage.idempotency_key.startswith(f"task:{assignment_id}:returned:"),
            ),
            OutboxMessage.acked_at.is_(None),
        )
        .values(acked_at=now)
    )


async def list_tasks(ctx: Context, _rest: str) -> list[Reply]:
    items = await store.open_for_person(ctx.session, ctx.me.id)
    if not items:
        return [Reply(T.NO_TASKS)]
    now = ctx.now()
    lines = []
    for i in items:
        status = store.STATUS_ZH.get(i.status, i.status)
        if i.overdue(now):
            status += "·逾期"
        if i.status == "returned" and i.return_reason:
            status += f"（{i.return_reason[:30]}）"
        title = (
            "[整改] " if i.task_kind == "rectify" else "[通知] " if i.task_kind == "notice" else ""
        ) + i.task_title
        lines.append(
            T.LIST_LINE.format(
                id=i.id, title=title, deadline=show(i.deadline, ctx.rules.timezone), status=status
            )
        )
    return [Reply("\n".join([T.LIST_HEAD, *paged(lines), T.LIST_TAIL]))]


async def _mine(ctx: Context, assignment_id: int) -> store.AssignmentDTO | None:
    item = await store.get_assignment(ctx.session, assignment_id)
    if item is None or item.assignee_id != ctx.me.id:
        return None
    return item


async def button(ctx: Context, rest: str) -> list[Reply]:
    action, _, raw = rest.partition(":")
    if not raw.isdigit():
        return [Reply("这个按钮已失效，请发送「任务」重新查看。")]
    aid = int(raw)
    item = await _mine(ctx, aid)
    if item is None:
        return [Reply(T.NOT_YOURS.format(id=aid))]
    if action == "ack":
        await store.ack(ctx.session, aid, ctx.me.id, ctx.now())
        await mark_acked(ctx.session, aid, ctx.me.id, ctx.now())
        nxt = "" if item.task_kind == "notice" else T.ACK_NEXT_TASK.format(id=aid)
        return [Reply(T.ACKED.format(title=item.task_title, next=nxt))]
    if action == "done":
        await mark_acked(ctx.session, aid, ctx.me.id, ctx.now())
        return await _start_submit(ctx, item, "")
    if action == "send":
        return await _finish(ctx)
    return [Reply("这个按钮已失效，请发送「任务」重新查看。")]


async def submit(ctx: Context, rest: str) -> list[Reply]:
    m = re.match(r"#?(\d{1,9})\s*(.*)", rest, re.S)
    if not m:
        return [Reply(T.ASK_ID)]
    aid = int(m.group(1))
    item = await _mine(ctx, aid)
    if item is None:
        return [Reply(T.NOT_YOURS.format(id=aid))]
    return await _start_submit(ctx, item, m.group(2).strip())


async def _start_submit(ctx: Context, item: store.AssignmentDTO, text: str) -> list[Reply]:
    if item.status not in store.OPEN:
        return [
            Reply(
                f"「{item.task_title}」现在是「{store.STATUS_ZH.get(item.status, item.status)}」，不需要提交。"
            )
        ]
    if text and not item.evidence_required:
        await ctx.set_state(FLOW, "collect", {"assignment": item.id, "texts": [text], "photos": []})
        return await _finish(ctx)
    texts = [text] if text else []
    await ctx.set_state(FLOW, "collect", {"assignment": item.id, "texts": texts, "photos": []})
    return [
        Reply(
            T.SUBMIT_START.format(title=item.task_title),
            (Button("好了，提交", f"task:send:{item.id}"),),
        )
    ]


async def _finish(ctx: Context) -> list[Reply]:
    state = ctx.state
    if state is None or state.flow != FLOW:
        return [Reply("这个按钮已失效，请发送「任务」重新查看。")]
    data = state.data
    if not data["texts"] and not data["photos"]:
        return [Reply(T.SUBMIT_EMPTY)]
    try:
        item = await store.submit(
            ctx.session,
            data["assignment"],
            ctx.me.id,
            ctx.now(),
            texts=data["texts"],
            photos=data["photos"],
        )
    except store.TaskError as err:
        await ctx.clear_state()
        return [Reply(err.message)]
    await ctx.clear_state()
    await cancel_reminders(ctx.session, [item.id])
    await ctx.audit(
        "task.submit",
        f"assignment:{item.id}",
        {"texts": len(data["texts"]), "photos": len(data["photos"])},
    )
    summary = "\n".join(t[:200] for t in data["texts"][:3]) or ""
    if data["photos"]:
        summary += f"\n（附照片 {len(data['photos'])} 张）"
    await ctx.push(
        item.created_by,
        Reply(
            T.PUSH_SUBMITTED.format(
                village=item.village_name,
                title=item.task_title,
                id=item.id,
                summary=summary.strip(),
            ),
            (Button("通过", f"review:ok:{item.id}"),),
            meta={"kind": "submitted", "assignment": item.id},
        ),
        f"task:{item.id}:submitted:{item.returns}",
        urgent=False,
        respect_quiet_hours=True,
    )
    return [Reply(T.SUBMITTED.format(title=item.task_title))]


async def flow_step(ctx: Context) -> list[Reply]:
    state = ctx.state
    assert state is not None
    data = dict(state.data)
    inc = ctx.incoming
    if inc.kind == "text" and inc.text.strip() in DONE_WORDS:
        return await _finish(ctx)
    if len(data["texts"]) + len(data["photos"]) >= store.MAX_EVIDENCE_TEXTS:
        return [Reply(T.SUBMIT_FULL.format(n=store.MAX_EVIDENCE_TEXTS))]
    if inc.kind == "photo" and inc.photo:
        sha = await _store_photo(ctx)
        if sha not in data["photos"]:
            data["photos"] = [*data["photos"], sha]
        await ctx.set_state(FLOW, "collect", data)
        return [
            Reply(
                T.SUBMIT_GOT_PHOTO.format(t=len(data["texts"]), p=len(data["photos"])),
                (Button("好了，提交", f"task:send:{data['assignment']}"),),
            )
        ]
    if inc.kind == "text" and inc.text.strip():
        data["texts"] = [*data["texts"], inc.text.strip()]
        await ctx.set_state(FLOW, "collect", data)
        return [
            Reply(
                T.SUBMIT_GOT_TEXT.format(t=len(data["texts"]), p=len(data["photos"])),
                (Button("好了，提交", f"task:send:{data['assignment']}"),),
            )
        ]
    return [Reply(T.SUBMIT_EMPTY)]


async def _store_photo(ctx: Context) -> str:
    """The channel already saved the file; record the photo row once (SHA-256 unique)."""
    photo = ctx.incoming.photo or {}
    taken = photo.get("taken_at")
    taken_at = None
    if taken:
        try:
            taken_at = datetime.fromisoformat(taken).replace(tzinfo=ctx.rules.timezone)
        except ValueError:
            taken_at = None
    await insert_ignore(
        ctx.session,
        Photo,
        {
            "sha256": photo["sha256"],
            "path": photo["path"],
            "thumb_path": photo.get("thumb_path"),
            "mime": photo.get("mime", "image/jpeg"),
            "size": int(photo.get("size") or 0),
            "width": int(photo.get("width") or 0),
            "height": int(photo.get("height") or 0),
            "taken_at": taken_at,
            "uploaded_by": ctx.me.id,
            "created_at": ctx.now(),
        },
        ["sha256"],
    )
    return str(photo["sha256"])


async def review_button(ctx: Context, rest: str) -> list[Reply]:
    action, _, raw = rest.partition(":")
    if action != "ok" or not raw.isdigit() or ctx.me.role not in COUNTY_ROLES:
        return [Reply("这个按钮已失效。")]
    return await approve(ctx, raw)


_DIGEST_NAMES = {"早报": "morning", "晚报": "evening"}


async def settings(ctx: Context, rest: str) -> list[Reply]:
    """设置 早报 08:00 | 设置 早报 关 | 设置 早报 开 (and 晚报)."""
    parts = rest.replace("：", " ").replace(":", ":").split()
    if len(parts) != 2 or parts[0] not in _DIGEST_NAMES:
        return [Reply(T.SETTINGS_HOW)]
    kind = _DIGEST_NAMES[parts[0]]
    value = parts[1].replace("：", ":")
    if value in ("关", "关闭", "不要", "off"):
        await people_store.set_prefs(ctx.session, ctx.me.id, **{f"{kind}_digest_off": True})
        return [Reply(T.SETTINGS_OK.format(what=parts[0], value="已关闭"))]
    if value in ("开", "打开", "on"):
        await people_store.set_prefs(ctx.session, ctx.me.id, **{f"{kind}_digest_off": None})
        return [Reply(T.SETTINGS_OK.format(what=parts[0], value="已打开"))]
    m = re.fullmatch(r"(\d{1,2})(?::(\d{2})|点(半)?)?", value)
    if not m:
        return [Reply(T.SETTINGS_HOW)]
    hour = int(m.group(1))
    minute = int(m.group(2)) if m.group(2) else (30 if m.group(3) else 0)
    try:
        at = parse_hhmm(f"{hour}:{minute:02d}")
    except ValueError:
        return [Reply(T.SETTINGS_HOW)]
    await people_store.set_prefs(
        ctx.session,
        ctx.me.id,
        **{f"{kind}_digest": at.strftime("%H:%M"), f"{kind}_digest_off": None},
    )
    return [Reply(T.SETTINGS_OK.format(what=f"{parts[0]}时间 ", value=at.strftime("%H:%M")))]


def register(registry: Registry) -> None:
    village = frozenset(VILLAGE_ROLES)
    registry.flow(FLOW, flow_step)
    registry.button("task", button)
    registry.button("review", review_button)
    registry.command(
        Command(
            ("任务", "我的任务", "/tasks"), list_tasks, village, "任务 — 查看要办的任务", order=200
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
    registry.command(
        Command(
            ("设置", "/settings"),
            settings,
            frozenset(ROLES),
            "设置 早报 08:00 / 设置 早报 关 — 每日早报晚报",
            order=800,
        )
    )
