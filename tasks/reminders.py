"""Deadline reminders and overdue escalation, as outbox rows with unique keys.

The schedule itself (one entry per offset before the deadline, then one each overdue morning)
is pure and lives in ``core.reminder_schedule``; this clock job walks it. Keys are
``core.keys.reminder`` (a returned assignment's new round appends ``@r{n}``), so a second
scheduler or a re-run enqueues nothing twice.

The scan reads only assignments whose ``remind_at`` has come (an indexed column holding the
next entry's time), enqueues the *latest* due entry (after downtime a person gets one reminder,
not one per missed tick), and moves ``remind_at`` to the next entry.

Escalation: once an assignment has been overdue ``rules.escalate_after_hours``, its daily
overdue entry also queues ``core.keys.escalation`` to the task's creator: one message per task
per day listing every village still overdue.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from core import keys
from core.deadlines import show
from core.messages import Reply
from core.numbers import task_ref
from core.reminder_schedule import (
    DEFAULT_OFFSETS,
    MAX_OVERDUE_DAYS,
    REMIND_TIME,
    first_remind_at,
    next_entry,
    schedule,
    valid_offset,
)
from core.rules import Rules
from core.statuses import OPEN, TaskStatus
from services.task_pushes import item_buttons, next_step
from storage import outbox
from storage import reminders as store
from storage.outbox_cancel import cancel_reminders
from storage.session import AsyncSession

__all__ = [
    "MAX_OVERDUE_DAYS",
    "REMIND_TIME",
    "ScanResult",
    "cancel_reminders",
    "enqueue_due_reminders",
    "first_remind_at",
    "next_entry",
    "reminder_body",
    "schedule",
    "valid_offset",
]

log = logging.getLogger(__name__)

SCAN_BATCH = 5000

TEXT_REMIND = "⏰ 任务提醒（{ref}）：{title}\n截止：{deadline}（{left}）\n{next}"
TEXT_OVERDUE = (
    "⚠️ 任务已逾期（{ref}）：{title}\n截止：{deadline}，已超过 {days} 天。\n请尽快办理。{next}"
)
TEXT_ESCALATE = "⚠️ 逾期通报：「{title}」（{ref}）截止 {deadline}，以下 {n} 个村仍未完成：\n{lines}"
ESCALATE_MORE = "……还有 {n} 个村"
ESCALATE_NAMES = 30


@dataclass(frozen=True)
class ScanResult:
    looked_at: int
    reminders: int
    escalations: int


def _left(deadline: datetime, now: datetime) -> str:
    hours = (deadline - now).total_seconds() / 3600
    if hours < 24:
        return f"还剩约 {max(1, int(hours))} 小时"
    return f"还剩 {int(hours // 24)} 天"


def reminder_body(
    kind: str, number: int, title: str, deadline: datetime, now: datetime, rules: Rules
) -> dict[str, Any]:
    """The reminder of an item named by its public number (``任务 3`` / ``问题 5``), with the
    command that hands it in and the 收到 / 已完成 buttons."""
    shown, ref, nxt = (
        show(deadline, rules.timezone),
        task_ref(kind, number),
        next_step(kind, number),
    )
    if deadline < now:
        days = max(1, (rules.local(now).date() - rules.local(deadline).date()).days)
        text = TEXT_OVERDUE.format(title=title, ref=ref, deadline=shown, days=days, next=nxt)
    else:
        left = _left(deadline, now)
        text = TEXT_REMIND.format(title=title, ref=ref, deadline=shown, left=left, next=nxt)
    meta = {"kind": "remind", "number": number}
    return Reply(text, item_buttons(kind, number), meta=meta).to_dict()


async def enqueue_due_reminders(
    session: AsyncSession,
    now: datetime,
    rules: Rules,
    *,
    batch: int = SCAN_BATCH,
    max_batches: int = 20,
) -> ScanResult:
    """Queue every reminder whose time has come; idempotent (keys) and cheap (indexed)."""
    total = ScanResult(0, 0, 0)
    for _ in range(max_batches):
        part = await _scan_batch(session, now, rules, batch)
        total = ScanResult(
            total.looked_at + part.looked_at,
            total.reminders + part.reminders,
            total.escalations + part.escalations,
        )
        if part.looked_at < batch:
            break
    if total.reminders or total.escalations:
        log.info(
            "reminders queued=%d escalations=%d looked_at=%d",
            total.reminders,
            total.escalations,
            total.looked_at,
        )
    return total


Plan = tuple[list[tuple[str, datetime]], tuple[str, datetime] | None]


@dataclass
class _Batch:
    """What one pass decides: outbox rows, cursor moves and tasks to escalate."""

    now: datetime
    rules: Rules
    rows: list[dict[str, Any]] = field(default_factory=list)
    moves: dict[datetime | None, list[int]] = field(default_factory=lambda: defaultdict(list))
    escalate: dict[int, date] = field(default_factory=dict)
    plans: dict[tuple[datetime, tuple[str, ...]], Plan] = field(default_factory=dict)

    def plan(self, deadline: datetime, offsets: tuple[str, ...]) -> Plan:
        # Every assignment of a task shares its deadline: compute each schedule once.
        found = self.plans.get((deadline, offsets))
        if found is None:
            found = self.plans[(deadline, offsets)] = (
                schedule(deadline, offsets, self.rules, through=self.now),
                next_entry(deadline, offsets, self.rules, self.now),
            )
        return found

    def visit(self, group: store.ScanGroup, task: store.ScanTask) -> None:
        """Decide once for the group's assignments (they share task, status, deadline,
        cursor and round), then write one outbox row per assignment."""
        open_ = group.status in OPEN and task.status == TaskStatus.ACTIVE
        if not open_ or group.deadline is None:
            self.moves[None] += group.ids  # closed elsewhere: stop looking
            return
        deadline = group.deadline
        entries, follow = self.plan(deadline, task.offsets or DEFAULT_OFFSETS)
        # Past the chase: park the rows far ahead so neither lookup picks them up again.
        self.moves[follow[1] if follow else deadline + timedelta(days=3650)] += group.ids
        due = [e for e in entries if group.cursor <= e[1] <= self.now]
        if not due:
            return
        label = due[-1][0]
        body = reminder_body(task.kind, task.number, task.title, deadline, self.now, self.rules)
        not_before = self.rules.after_quiet_hours(self.now)
        lane = keys.county_lane(task.county_id)
        self.rows += [
            {
                "recipient_id": assignee,
                "body": body,
                "idempotency_key": keys.reminder(aid, label, group.returns),
                "not_before": not_before,
                "lane": lane,
            }
            for aid, assignee in zip(group.ids, group.assignees, strict=True)
            if assignee is not None
        ]
        escalate_after = timedelta(hours=self.rules.escalate_after_hours)
        if label.startswith("od") and self.now - deadline >= escalate_after:
            self.escalate[group.task_id] = self.rules.local(self.now).date()


async def _scan_batch(session: AsyncSession, now: datetime, rules: Rules, batch: int) -> ScanResult:
    due = await store.due(session, now, batch)
    looked_at = sum(len(g.ids) for g in due)
    unscheduled = await store.unscheduled(session, batch - looked_at)
    groups = [*due, *unscheduled]
    if not groups:
        return ScanResult(0, 0, 0)
    looked_at += sum(len(g.ids) for g in unscheduled)
    tasks = await store.tasks_by_id(session, {g.task_id for g in groups})
    work = _Batch(now, rules)
    for group in groups:
        work.visit(group, tasks[group.task_id])
    await store.set_remind_at(session, work.moves)
    queued = await outbox.enqueue_many(session, work.rows, now) if work.rows else 0
    escalated = await _escalate(session, work.escalate, now, rules) if work.escalate else 0
    return ScanResult(looked_at, queued, escalated)


async def _escalate(
    session: AsyncSession, tasks: dict[int, date], now: datetime, rules: Rules
) -> int:
    cutoff = now - timedelta(hours=rules.escalate_after_hours)
    by_task: dict[int, list[store.OverdueVillage]] = defaultdict(list)
    for v in await store.overdue_villages(session, tasks, cutoff):
        by_task[v.task_id].append(v)
    rows = []
    for task_id, villages in by_task.items():
        first = villages[0]
        names = [v.village_name for v in villages]
        lines = "、".join(names[:ESCALATE_NAMES])
        if len(names) > ESCALATE_NAMES:
            lines += ESCALATE_MORE.format(n=len(names) - ESCALATE_NAMES)
        text = TEXT_ESCALATE.format(
            title=first.title,
            ref=task_ref(first.kind, first.number),
            deadline=show(first.deadline, rules.timezone),
            n=len(names),
            lines=lines,
        )
        rows.append(
            {
                "recipient_id": first.created_by,
                "body": Reply(text, meta={"kind": "escalate", "number": first.number}).to_dict(),
                "idempotency_key": keys.escalation(task_id, tasks[task_id]),
                "not_before": rules.after_quiet_hours(now),
            }
        )
    return await outbox.enqueue_many(session, rows, now) if rows else 0
