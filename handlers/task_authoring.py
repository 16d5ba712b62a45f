"""发任务 / 发通知: dispatchers write a task or notice in one line (``标题 / 截止 12月5日前 /
范围 东岭镇 / 需要照片``) or answer one question at a time (title, 说明, deadline, scope,
photos). Either way a preview comes first, and only its 确认发送 sends: a broadcast to many
villages cannot be taken back.

One answer that is not taken (``截止 昨天``) re-asks that field alone, with why, and keeps the
others. 修改 on the preview re-asks one chosen field and comes back to the preview. The draft
lives in the conversation row (``handlers.task_draft``); ``services.tasks`` checks and creates.
"""

from __future__ import annotations

import re
from typing import Any

from core.deadlines import DeadlineError, parse_deadline, show
from core.errors import Invalid, Refused
from core.messages import Reply, paged
from core.payloads import (
    BroadcastDrop,
    BroadcastEdit,
    BroadcastEvidence,
    BroadcastField,
    BroadcastSend,
    BroadcastSkip,
    unpack,
)
from core.statuses import TaskKind
from handlers import task_texts as T
from handlers.context import Context
from handlers.task_draft import FLOW, STEPS, BroadcastDraft, parse_one_liner, parse_scope
from handlers.task_preview import edit_question, kind_zh, preview, question
from services import task_texts as ST
from services import tasks as service
from storage.tasks import MAX_BODY, MAX_TITLE

__all__ = ["FLOW", "flow_step", "on_button", "parse_one_liner", "parse_scope"]

_YES = frozenset({"需要", "要", "是", "需要照片", "要照片"})
_NO = frozenset({"不需要", "不要", "否", "不用", "不需要照片"})


async def send_task(ctx: Context, rest: str) -> list[Reply]:
    return await _begin(ctx, TaskKind.TASK, rest)


async def send_notice(ctx: Context, rest: str) -> list[Reply]:
    return await _begin(ctx, TaskKind.NOTICE, rest)


async def _begin(ctx: Context, kind: str, rest: str) -> list[Reply]:
    service.require_dispatcher(ctx.me)
    draft = BroadcastDraft.start(kind)
    if not rest:
        await _keep(ctx, draft, "title")
        asked = question(draft, "title")
        return [Reply(f"{asked.text}\n\n{T.HOW_TO_SEND}" if kind == TaskKind.TASK else asked.text)]
    fields = parse_one_liner(rest)
    # The one-message form asks again only for what a task cannot go without.
    draft = draft.but(body_done=True, evidence=bool(fields.pop("evidence", False)))
    return await _fill(ctx, draft, fields)


async def _keep(ctx: Context, draft: BroadcastDraft, step: str) -> None:
    await ctx.set_state(FLOW, step, draft.to_dict())


async def _ask(ctx: Context, draft: BroadcastDraft, step: str, why: str = "") -> list[Reply]:
    await _keep(ctx, draft, step)
    return [question(draft, step, why)]


def _apply(ctx: Context, draft: BroadcastDraft, field: str, value: Any) -> BroadcastDraft | str:
    """The draft with one answer taken, or why it was not (a Chinese sentence)."""
    if field == "title":
        title = str(value).strip()
        return (
            T.TITLE_TOO_LONG.format(n=MAX_TITLE)
            if len(title) > MAX_TITLE
            else draft.but(title=title)
        )
    if field == "body":
        body = str(value).strip()
        if len(body) > MAX_BODY:
            return T.BODY_TOO_LONG.format(n=MAX_BODY)
        return draft.but(body=body, body_done=True)
    if field == "deadline_text":
        try:
            at = parse_deadline(str(value), ctx.now(), ctx.rules.timezone)
        except DeadlineError as err:
            return err.message
        return draft.but(deadline=at)
    if field == "scope_text":
        return draft.but(scope_text=str(value).strip())
    return draft


_STEP_OF = {"deadline_text": "deadline", "scope_text": "scope"}


async def _fill(ctx: Context, draft: BroadcastDraft, fields: dict[str, Any]) -> list[Reply]:
    """Take every answer given; the first one not taken is asked again, the rest are kept."""
    refused: tuple[str, str] | None = None
    for field, value in fields.items():
        applied = _apply(ctx, draft, field, value)
        if isinstance(applied, str):
            refused = refused or (_STEP_OF.get(field, field), applied)
        else:
            draft = applied
    if refused is None and "scope_text" in fields:
        try:  # an unknown village is said at once, with the near names
            await service.preview_villages(ctx.session, ctx.me, parse_scope(draft.scope_text or ""))
        except Invalid as err:
            refused = ("scope", err.message)
    if refused is not None:
        return await _ask(ctx, draft, *refused)
    return await _advance(ctx, draft)


async def _advance(ctx: Context, draft: BroadcastDraft) -> list[Reply]:
    step = draft.next_step()
    if step != "preview":
        return await _ask(ctx, draft, step)
    return await _preview(ctx, draft)


def _request(draft: BroadcastDraft) -> service.TaskDraft:
    return service.TaskDraft(
        kind=draft.kind,
        title=draft.title,
        body=draft.body,
        deadline=None if draft.is_notice else draft.deadline,
        scope=parse_scope(draft.scope_text or ""),
        evidence_required=bool(draft.evidence) and not draft.is_notice,
    )


def _field_at_fault(err: Invalid) -> str:
    return err.field if err.field in STEPS else "scope"


async def _preview(ctx: Context, draft: BroadcastDraft) -> list[Reply]:
    if not draft.is_notice and draft.deadline is not None and draft.deadline <= ctx.now():
        return await _ask(ctx, draft.but(deadline=None), "deadline", T.DEADLINE_PASSED)
    request = _request(draft)
    try:
        service.check_draft(request)
        villages = await service.preview_villages(ctx.session, ctx.me, request.scope)
    except Invalid as err:
        return await _ask(ctx, draft, _field_at_fault(err), err.message)
    await _keep(ctx, draft, "preview")
    return [preview(ctx, draft, villages)]


async def _send(ctx: Context, draft: BroadcastDraft) -> list[Reply]:
    """确认发送: the one place a draft becomes a task."""
    if not draft.is_notice and draft.deadline is not None and draft.deadline <= ctx.now():
        return await _ask(ctx, draft.but(deadline=None), "deadline", T.DEADLINE_PASSED)
    try:
        created = await service.create_task(
            ctx.session, ctx.me, _request(draft), now=ctx.now(), rules=ctx.rules
        )
    except Invalid as err:
        return await _ask(ctx, draft, _field_at_fault(err), err.message)
    await ctx.clear_state()
    return [_sent(created, ctx)]


def _sent(created: service.Created, ctx: Context) -> Reply:
    task, missing = created.task, created.unassigned
    missing_text = (
        T.SENT_MISSING.format(n=len(missing), names="、".join(paged(missing, 10, "……等")))
        if missing
        else ""
    )
    now = ctx.now()
    if ctx.rules.in_quiet_hours(now):
        at = ctx.rules.local(ctx.rules.after_quiet_hours(now)).strftime("%H:%M")
        missing_text += "\n" + ST.QUIET_HELD.format(at=at)
    deadline = task.deadline
    return Reply(
        T.SENT.format(
            kind=T.KIND_NOTICE if task.kind == TaskKind.NOTICE else T.KIND_TASK,
            title=task.title,
            ref=task.ref,
            n=len(created.items),
            deadline=T.SENT_DEADLINE.format(at=show(deadline, ctx.rules.timezone))
            if deadline
            else "",
            missing=missing_text,
        )
    )


def _draft_of(ctx: Context) -> tuple[str, BroadcastDraft]:
    state = ctx.state
    assert state is not None
    return state.step, BroadcastDraft.from_dict(state.data)


async def flow_step(ctx: Context) -> list[Reply]:
    """A message (not a button) while a draft is open: the answer to the step's question."""
    step, draft = _draft_of(ctx)
    text = ctx.incoming.text.strip() if ctx.incoming.kind == "text" else ""
    if step not in STEPS:  # the preview or 修改's question: buttons
        return [Reply(T.PRESS_BUTTON_PREVIEW), *(await _advance_or_edit(ctx, step, draft))]
    if not text:
        return await _ask(ctx, draft, step)
    if step == "title":
        fields = parse_one_liner(text) if re.search(r"[/／\n]", text) else {"title": text}
        if fields.pop("evidence", False):
            draft = draft.but(evidence=True)
        return await _fill(ctx, draft, fields)
    if step == "evidence":
        if text in _YES or text in _NO:
            return await _advance(ctx, draft.but(evidence=text in _YES))
        return await _ask(ctx, draft, step, T.PRESS_EVIDENCE)
    field = {"body": "body", "deadline": "deadline_text", "scope": "scope_text"}[step]
    said = parse_one_liner(text)  # 「截止 昨天」 answers the deadline as 「昨天」 does
    return await _fill(ctx, draft, {field: said.get(field, text) if len(said) == 1 else text})


async def _advance_or_edit(ctx: Context, step: str, draft: BroadcastDraft) -> list[Reply]:
    if step == "edit":
        return [edit_question(draft)]
    return await _advance(ctx, draft)


async def on_button(ctx: Context, _rest: str) -> list[Reply]:
    """确认发送 / 修改 / 取消 and the buttons of the questions. A press on any draft but the
    sender's open one is stale (refused, and so audited)."""
    pressed = unpack(ctx.incoming.payload)
    state = ctx.state
    if state is None or state.flow != FLOW or pressed is None:
        raise Refused(T.BUTTON_EXPIRED)
    step, draft = _draft_of(ctx)
    if getattr(pressed, "draft", None) != draft.number:
        raise Refused(T.BUTTON_EXPIRED)
    if isinstance(pressed, BroadcastSend) and step == "preview":
        return await _send(ctx, draft)
    if isinstance(pressed, BroadcastEdit):
        await _keep(ctx, draft, "edit")
        return [edit_question(draft)]
    if isinstance(pressed, BroadcastDrop):
        await ctx.clear_state()
        return [Reply(T.DRAFT_DROPPED.format(kind=kind_zh(draft), title=draft.title or "…"))]
    if isinstance(pressed, BroadcastField) and pressed.field in STEPS:
        return await _ask(ctx, draft, pressed.field)
    if isinstance(pressed, BroadcastEvidence):
        return await _advance(ctx, draft.but(evidence=pressed.answer == "yes"))
    if isinstance(pressed, BroadcastSkip):
        return await _advance(ctx, draft.but(body="", body_done=True))
    return await _advance_or_edit(ctx, step, draft)
