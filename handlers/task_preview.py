"""What a 发任务 / 发通知 draft shows: the question of each step and the preview before sending.

Only rendering: the draft is ``handlers.task_draft``'s, the villages come checked from
``services.tasks.preview_villages``.
"""

from __future__ import annotations

from core.deadlines import show
from core.messages import Button, Reply
from core.payloads import (
    BroadcastDrop,
    BroadcastEdit,
    BroadcastEvidence,
    BroadcastField,
    BroadcastSend,
    BroadcastSkip,
)
from handlers import task_texts as T
from handlers.context import Context
from handlers.task_draft import STEPS, BroadcastDraft
from services import task_texts as ST

BODY_LINES = 3
BODY_LINE_CHARS = 60
TOWNS_SHOWN = 8
NAMES_PER_TOWN = 10


def kind_zh(draft: BroadcastDraft) -> str:
    return T.KIND_NOTICE if draft.is_notice else T.KIND_TASK


def question(draft: BroadcastDraft, step: str, why: str = "") -> Reply:
    """The question of ``step``, after ``why`` the last answer was not taken (if it was not)."""
    buttons: tuple[Button, ...] = ()
    if step == "body":
        text = T.ASK_BODY.format(kind=kind_zh(draft))
        buttons = (BroadcastSkip(draft.number).button(T.BTN_SKIP_BODY),)
    elif step == "deadline":
        text = T.ASK_DEADLINE
    elif step == "scope":
        text = T.ASK_SCOPE
    elif step == "evidence":
        text = T.ASK_EVIDENCE
        buttons = (
            BroadcastEvidence(draft.number, "yes").button(T.BTN_EVIDENCE_YES),
            BroadcastEvidence(draft.number, "no").button(T.BTN_EVIDENCE_NO),
        )
    else:
        text = T.ASK_TITLE
    return Reply(f"{why}\n{text}" if why else text, buttons)


def edit_question(draft: BroadcastDraft) -> Reply:
    fields = [f for f in STEPS if not (draft.is_notice and f in ("deadline", "evidence"))]
    buttons = tuple(BroadcastField(draft.number, f).button(T.FIELD_ZH[f]) for f in fields)
    return Reply(T.EDIT_ASK, buttons)


def _body_lines(body: str) -> list[str]:
    body = body.strip()
    if not body:
        return [T.PREVIEW_NO_BODY]
    lines = [line[:BODY_LINE_CHARS] for line in body.splitlines() if line.strip()]
    shown = "\n".join(lines[:BODY_LINES])
    if len(lines) > BODY_LINES or any(len(x) > BODY_LINE_CHARS for x in body.splitlines()):
        shown += f"……（共 {len(body)} 字）"
    return [T.PREVIEW_BODY.format(body=shown)]


def _village_lines(villages: list[tuple[int, str, int, str]]) -> list[str]:
    towns: dict[str, list[str]] = {}
    for _vid, name, _tid, town in villages:
        towns.setdefault(town, []).append(name)
    lines = [T.PREVIEW_VILLAGES.format(n=len(villages))]
    for town, names in list(towns.items())[:TOWNS_SHOWN]:
        shown = "、".join(names[:NAMES_PER_TOWN])
        if len(names) > NAMES_PER_TOWN:
            shown += f"等 {len(names)} 个村"
        lines.append(T.PREVIEW_TOWN.format(town=town, n=len(names), names=shown))
    if len(towns) > TOWNS_SHOWN:
        lines.append(T.PREVIEW_MORE_TOWNS.format(n=len(towns) - TOWNS_SHOWN))
    return lines


def preview(
    ctx: Context, draft: BroadcastDraft, villages: list[tuple[int, str, int, str]]
) -> Reply:
    """Everything the villages will receive, and when, with 确认发送 / 修改 / 取消."""
    lines = [T.PREVIEW_HEAD, T.PREVIEW_TITLE.format(kind=kind_zh(draft), title=draft.title)]
    lines += _body_lines(draft.body)
    if not draft.is_notice:
        lines.append(T.PREVIEW_DEADLINE.format(at=show(draft.deadline, ctx.rules.timezone)))
    lines += _village_lines(villages)
    if not draft.is_notice:
        what = T.EVIDENCE_YES if draft.evidence else T.EVIDENCE_NO
        lines.append(T.PREVIEW_EVIDENCE.format(what=what))
    now = ctx.now()
    if ctx.rules.in_quiet_hours(now):
        at = ctx.rules.local(ctx.rules.after_quiet_hours(now)).strftime("%H:%M")
        lines.append(ST.QUIET_HELD.format(at=at))
    lines.append(T.PREVIEW_TAIL)
    buttons = (
        BroadcastSend(draft.number).button(T.BTN_SEND),
        BroadcastEdit(draft.number).button(T.BTN_EDIT),
        BroadcastDrop(draft.number).button(T.BTN_DROP),
    )
    return Reply("\n".join(lines), buttons)
