"""Deadline reminders and overdue escalation, as outbox rows with unique keys.

Each open assignment with a deadline has a schedule: one entry per reminder offset before the
deadline (``3d`` = the morning three days before, ``0d`` = the deadline morning, ``6h`` = six
hours before), then one entry each morning while overdue (``od20261206``). Keys are
``remind:{assignment}:{offset}`` (a returned assignment's new round appends ``@r{n}``), so a
second scheduler or a re-run enqueues nothing twice.

The scan reads only assignments whose ``remind_at`` has come (an indexed column holding the
next entry's time), enqueues the *latest* due entry (after downtime a person gets one reminder,
not one per missed tick), and moves ``remind_at`` to the next entry.

Escalation: once an assignment has been overdue ``rules.escalate_after_hours``, its daily
overdue entry also queues ``escalate:{task}:{date}`` to the task's creator: one message per task
per day listing every village still overdue.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.deadlines import show
from core.messages import Button, Reply
from core.rules import Rules
from storage import outbox
from storage.models import Assignment, OutboxMessage, Region, Task
from storage.tasks import DEFAULT_OFFSETS, OPEN

log = logging.getLogger(__name__)

REMIND_TIME = time(8, 0)  # local time of "morning" reminders
MAX_OVERDUE_DAYS = 60  # stop chasing daily after two months; the digest still lists it
SCAN_BATCH = 5000
_OFFSET = re.compile(r"^(\d{1,3})([dh])$")

TEXT_REMIND = "⏰ 任务提醒：{title}\n截止：{deadline}（{left}）\n办完后发送「提交 {id}」上报。"
TEXT_OVERDUE = "⚠️ 任务已逾期：{title}\n截止：{deadline}，已超过 {days} 天。\n请尽快办理，办完发送「提交 {id}」。"
TEXT_ESCALATE = "⚠️ 逾期通报：「{title}」截止 {deadline}，以下 {n} 个村仍未完成：\n{lines}"


def valid_offset(value: str) -> bool:
    m = _OFFSET.match(value.strip())
    return bool(m) and (m.group(2) == "h" or int(m.group(1)) <= 60)


def remind_key(assignment_id: int, label: str, round_: int = 0) -> str:
    suffix = f"@r{round_}" if round_ else ""
    return f"remind:{assignment_id}:{label}{suffix}"


def key_prefix(assignment_id: int) -> str:
    """Prefix of every reminder row of one assignment (for ``outbox.cancel``)."""
    return f"remind:{assignment_id}:"


def _morning(day: date, rules: Rules) -> datetime:
    return rules.after_quiet_hours(datetime.combine(day, REMIND_TIME, tzinfo=rules.timezone))


def schedule(
    deadline: datetime, offsets: tuple[str, ...] | list[str], rules: Rules, *, through: datetime
) -> list[tuple[str, datetime]]:
    """Every entry from the first reminder up to ``through`` (overdue days included), sorted."""
    deadline_day = rules.local(deadline).date()
    entries: list[tuple[str, datetime]] = []
    for offset in offsets:
        m = _OFFSET.match(str(offset).strip())
        if not m:
            continue
        n, unit = int(m.group(1)), m.group(2)
        if unit == "d":
            at = _morning(deadline_day - timedelta(days=n), rules)
        else:
            at = rules.after_quiet_hours(deadline - timedelta(hours=n))
        if at < deadline:  # a reminder pushed past the deadline by quiet hours is pointless
            entries.append((str(offset), at))
    day = deadline_day + timedelta(days=1)
    last = min(rules.local(through).date(), deadline_day + timedelta(days=MAX_OVERDUE_DAYS))
    while day <= last:
        entries.append((f"od{day:%Y%m%d}", _morning(day, rules)))
        day += timedelta(days=1)
    entries.sort(key=lambda e: e[1])
    return entries


def first_remind_at(
    deadline: datetime | None, offsets: tuple[str, ...] | list[str], rules: Rules, now: datetime
) -> datetime | None:
    """When a new assignment first needs the scan (stored at creation, so a 1,000-village
    task does not cost the scan 1,000 updates)."""
    if deadline is None:
        return None
    entry = next_entry(deadline, tuple(offsets) or DEFAULT_OFFSETS, rules, now)
    return entry[1] if entry else None


def next_entry(
    deadline: datetime, offsets: tuple[str, ...] | list[str], rules: Rules, after: datetime
) -> tuple[str, datetime] | None:
    """The first entry strictly after ``after`` (None once the chase is over)."""
    horizon = max(after, deadline) + timedelta(days=2)
    for label, at in schedule(deadline, offsets, rules, through=horizon):
        if at > after:
            return label, at
    return None


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
    assignment_id: int, title: str, deadline: datetime, now: datetime, rules: Rules
) -> dict[str, Any]:
    if deadline < now:
        days = max(1, (rules.local(now).date() - rules.local(deadline).date()).days)
        text = TEXT_OVERDUE.format(
            title=title, deadline=show(deadline, rules.timezone), days=days, id=assignment_id
        )
    else:
        text = TEXT_REMIND.format(
            title=title,
            deadline=show(deadline, rules.timezone),
            left=_left(deadline, now),
            id=assignment_id,
        )
    buttons = (
        Button("收到", f"task:ack:{assignment_id}"),
        Button("已完成", f"task:done:{assignment_id}"),
    )
    return Reply(text, buttons, meta={"kind": "remind", "assignment": assignment_id}).to_dict()


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


_COLUMNS = (
    Assignment.id,
    Assignment.assignee_id,
    Assignment.deadline,
    Assignment.remind_at,
    Assignment.updated_at,
    Assignment.evidence,
    Assignment.task_id,
    Assignment.status,
)


async def _scan_batch(session: AsyncSession, now: datetime, rules: Rules, batch: int) -> ScanResult:
    # Two plain single-table lookups, each on its own index (remind_at range; the partial
    # "unscheduled" index), so the plan does not depend on fresh planner statistics.
    due = (
        await session.execute(
            sa.select(*_COLUMNS)
            .where(Assignment.remind_at <= now)
            .order_by(Assignment.remind_at)
            .limit(batch)
        )
    ).all()
    fresh = (
        await session.execute(
            sa.select(*_COLUMNS)
            .where(
                Assignment.remind_at.is_(None),
                Assignment.deadline.is_not(None),
                Assignment.status.in_(OPEN),
            )
            .limit(max(0, batch - len(due)))
        )
    ).all()
    rows_in = [*due, *fresh]
    if not rows_in:
        return ScanResult(0, 0, 0)
    task_ids = list({r[6] for r in rows_in})
    tasks = {
        tid: (title, offsets, status)
        for tid, title, offsets, status in await session.execute(
            sa.select(Task.id, Task.title, Task.reminder_offsets, Task.status).where(
                Task.id.in_(task_ids)
            )
        )
    }
    rows: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    escalate: dict[int, date] = {}
    escalate_after = timedelta(hours=rules.escalate_after_hours)
    plans: dict[tuple[datetime, tuple[str, ...]], tuple[list[tuple[str, datetime]], Any]] = {}
    not_before = rules.after_quiet_hours(now)
    for aid, assignee, deadline, remind_at, updated_at, evidence, task_id, status in rows_in:
        title, offsets, task_status = tasks[task_id]
        if status not in OPEN or task_status != "active" or deadline is None:
            updates.append({"id": aid, "remind_at": None})  # closed elsewhere: stop looking
            continue
        offsets = tuple(offsets) if offsets else DEFAULT_OFFSETS
        cursor = remind_at if remind_at is not None else updated_at
        # Every assignment of a task shares its deadline: compute each schedule once.
        plan = plans.get((deadline, offsets))
        if plan is None:
            plan = plans[(deadline, offsets)] = (
                schedule(deadline, offsets, rules, through=now),
                next_entry(deadline, offsets, rules, now),
            )
        entries = [e for e in plan[0] if cursor <= e[1] <= now]
        follow = plan[1]
        # Past the chase: park the row far ahead so neither lookup picks it up again.
        parked = deadline + timedelta(days=3650)
        updates.append({"id": aid, "remind_at": follow[1] if follow else parked})
        if not entries:
            continue
        label, _at = entries[-1]
        returns = sum(
            1 for h in (evidence or {}).get("history", ()) if h.get("action") == "returned"
        )
        if assignee is not None:
            rows.append(
                {
                    "recipient_id": assignee,
                    "body": reminder_body(aid, title, deadline, now, rules),
                    "idempotency_key": remind_key(aid, label, returns),
                    "not_before": not_before,
                }
            )
        if label.startswith("od") and now - deadline >= escalate_after:
            escalate[task_id] = rules.local(now).date()
    # Rows of one task share their next time: one UPDATE per distinct value, not per row.
    by_value: dict[datetime | None, list[int]] = defaultdict(list)
    for u in updates:
        by_value[u["remind_at"]].append(u["id"])
    for value, ids in by_value.items():
        for start in range(0, len(ids), 5000):
            await session.execute(
                sa.update(Assignment)
                .where(Assignment.id.in_(ids[start : start + 5000]))
                .values(remind_at=value)
            )
    queued = await outbox.enqueue_many(session, rows, now) if rows else 0
    escalated = await _escalate(session, escalate, now, rules) if escalate else 0
    return ScanResult(len(rows_in), queued, escalated)


async def _escalate(
    session: AsyncSession, tasks: dict[int, date], now: datetime, rules: Rules
) -> int:
    cutoff = now - timedelta(hours=rules.escalate_after_hours)
    result = await session.execute(
        sa.select(Task.id, Task.title, Task.created_by, Assignment.deadline, Region.name)
        .join(Assignment, Assignment.task_id == Task.id)
        .join(Region, Region.id == Assignment.village_id)
        .where(
            Task.id.in_(list(tasks)),
            Assignment.status.in_(OPEN),
            Assignment.deadline <= cutoff,
        )
        .order_by(Task.id, Assignment.deadline, Region.name)
    )
    by_task: dict[int, list[Any]] = defaultdict(list)
    for row in result:
        by_task[row[0]].append(row)
    rows = []
    for task_id, items in by_task.items():
        _, title, creator, deadline, _name = items[0]
        names = [r[4] for r in items]
        lines = "、".join(names[:30]) + (
            f"……还有 {len(names) - 30} 个村" if len(names) > 30 else ""
        )
        text = TEXT_ESCALATE.format(
            title=title, deadline=show(deadline, rules.timezone), n=len(names), lines=lines
        )
        rows.append(
            {
                "recipient_id": creator,
                "body": Reply(text, meta={"kind": "escalate", "task": task_id}).to_dict(),
                "idempotency_key": f"escalate:{task_id}:{tasks[task_id]:%Y%m%d}",
                "not_before": rules.after_quiet_hours(now),
            }
        )
    return await outbox.enqueue_many(session, rows, now) if rows else 0


async def cancel_reminders(session: AsyncSession, assignment_ids: list[int]) -> int:
    """Drop the pending reminders of finished or withdrawn assignments (``outbox.cancel`` by
    key prefix, many prefixes per statement: a withdrawn 1,000-village task is one pass over
    the pending rows, not a thousand)."""
    if len(assignment_ids) == 1:
        return await outbox.cancel(session, key_prefix(assignment_ids[0]))
    total = 0
    for start in range(0, len(assignment_ids), 500):
        chunk = assignment_ids[start : start + 500]
        result = await session.execute(
            sa.update(OutboxMessage)
            .where(
                OutboxMessage.status == "pending",
                sa.or_(
                    *(
                        OutboxMessage.idempotency_key.startswith(key_prefix(a), autoescape=True)
                        for a in chunk
                    )
                ),
            )
            .values(status="cancelled")
        )
        total += result.rowcount or 0
    return total
