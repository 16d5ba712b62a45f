"""发任务 / 发通知: county staff write a task or notice in one line (``标题 / 截止 12月5日前 /
范围 东岭镇 / 需要照片``) or answer one question at a time (a flow: title, deadline, scope).
This module only parses the chat text and asks for what is missing; ``services.tasks`` checks
and creates the task."""

from __future__ import annotations

import re
from typing import Any

from core.deadlines import DeadlineError, parse_deadline, show
from core.errors import DomainError
from core.messages import Reply, paged
from core.statuses import TaskKind
from handlers import task_texts as T
from handlers.context import Context
from services import audit_refusals
from services import task_texts as ST
from services import tasks as service

FLOW = "broadcast"
_ASK = {"title": T.ASK_TITLE, "deadline": T.ASK_DEADLINE, "scope": T.ASK_SCOPE}


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


_HEADS = {"截止": "deadline_text", "期限": "deadline_text", "范围": "scope_text"}
_HEADS |= {"发给": "scope_text", "内容": "body", "正文": "body", "说明": "body"}
_EVIDENCE_WORDS = ("需要照片", "需要材料", "要照片", "需要佐证")


def parse_one_liner(text: str) -> dict[str, Any]:
    """``标题 / 截止 12月5日前 / 范围 东岭镇 / 需要照片`` -> draft fields (unvalidated)."""
    parts = [p.strip() for p in re.split(r"\s*[/／\n]\s*", text) if p.strip()]
    draft: dict[str, Any] = {}
    for part in parts:
        head = _HEADS.get(part[:2])
        if head:
            draft[head] = part[2:].strip(" ：:")
        elif part.startswith(_EVIDENCE_WORDS):
            draft["evidence"] = True
        elif "title" not in draft:
            draft["title"] = part
        else:
            draft["body"] = (draft.get("body", "") + "\n" + part).strip()
    return draft


async def _ask(ctx: Context, step: str, kind: str, draft: dict[str, Any], text: str) -> list[Reply]:
    await ctx.set_state(FLOW, step, {"kind": kind, **draft})
    return [Reply(text)]


def _sent(created: service.Created, ctx: Context) -> Reply:
    task, missing = created.task, created.unassigned
    missing_text = (
        T.SENT_MISSING.format(n=len(missing), names="、".join(paged(missing, 10, "……等")))
        if missing
        else ""
    )
    deadline = task.deadline
    now = ctx.now()
    if ctx.rules.in_quiet_hours(now):
        at = ctx.rules.local(ctx.rules.after_quiet_hours(now)).strftime("%H:%M")
        missing_text += "\n" + ST.QUIET_HELD.format(at=at)
    return Reply(
        T.SENT.format(
            kind=T.KIND_NOTICE if task.kind == TaskKind.NOTICE else T.KIND_TASK,
            title=task.title,
            task=task.id,
            n=len(created.items),
            deadline=T.SENT_DEADLINE.format(at=show(deadline, ctx.rules.timezone))
            if deadline
            else "",
            missing=missing_text,
        )
    )


async def _create(ctx: Context, kind: str, draft: dict[str, Any]) -> list[Reply]:
    """Create from a complete draft, or ask for the first missing or wrong field."""
    if not draft.get("title"):
        return await _ask(ctx, "title", kind, draft, T.ASK_TITLE)
    deadline = None
    if kind != TaskKind.NOTICE:
        if not draft.get("deadline_text"):
            return await _ask(ctx, "deadline", kind, draft, T.ASK_DEADLINE)
        try:
            deadline = parse_deadline(draft["deadline_text"], ctx.now(), ctx.rules.timezone)
        except DeadlineError as err:
            return await _ask(ctx, "deadline", kind, draft, err.message)
    if "scope_text" not in draft:
        return await _ask(ctx, "scope", kind, draft, T.ASK_SCOPE)
    request = service.TaskDraft(
        kind=kind,
        title=draft["title"],
        body=draft.get("body", ""),
        deadline=deadline,
        scope=parse_scope(draft["scope_text"]),
        evidence_required=bool(draft.get("evidence")),
    )
    try:
        created = await service.create_task(
            ctx.session, ctx.me, request, now=ctx.now(), rules=ctx.rules
        )
    except DomainError as err:
        # The draft is kept and the scope asked again, so the unit of work is not rolled back:
        # a refusal (a place outside the sender's township) is audited here instead.
        reason = audit_refusals.reason_of(err)
        if reason is not None:
            await audit_refusals.record(
                ctx.session,
                now=ctx.now(),
                person_id=ctx.me.id,
                action=ctx.incoming.text.split()[0] if ctx.incoming.text.split() else "scope",
                obj=draft["scope_text"],
                reason=reason,
                msg=ctx.incoming.message_id,
                via=ctx.incoming.channel,
            )
        return await _ask(ctx, "scope", kind, draft, f"{err.message}\n{T.ASK_SCOPE}")
    await ctx.clear_state()
    return [_sent(created, ctx)]


async def send_task(ctx: Context, rest: str) -> list[Reply]:
    service.require_dispatcher(ctx.me)
    if not rest:
        await ctx.set_state(FLOW, "title", {"kind": TaskKind.TASK.value})
        return [Reply(f"{T.ASK_TITLE}\n\n{T.HOW_TO_SEND}")]
    return await _create(ctx, TaskKind.TASK, parse_one_liner(rest))


async def send_notice(ctx: Context, rest: str) -> list[Reply]:
    service.require_dispatcher(ctx.me)
    if not rest:
        await ctx.set_state(FLOW, "title", {"kind": TaskKind.NOTICE.value})
        return [Reply(T.ASK_TITLE)]
    return await _create(ctx, TaskKind.NOTICE, parse_one_liner(rest))


async def flow_step(ctx: Context) -> list[Reply]:
    state = ctx.state
    assert state is not None
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if not text:
        return [Reply(_ASK.get(state.step, T.ASK_SCOPE))]
    draft = dict(state.data)
    kind = draft.pop("kind", TaskKind.TASK.value)
    if state.step == "title":
        draft.update({k: v for k, v in parse_one_liner(text).items() if k not in draft})
    else:
        draft["deadline_text" if state.step == "deadline" else "scope_text"] = text
    return await _create(ctx, kind, draft)
