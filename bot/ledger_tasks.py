"""The 任务完成情况表: per task (and notice) of the month, each village's status, when it
acknowledged and submitted, who reviewed it, and a 合计 row with the count of each status;
and the 任务完成情况汇总: one row per task with its villages by status and its rates, the
figures of the console's task page (storage.readmodels.task_board) over the ledger's villages.

Status words (one per row): 未读 (not yet acknowledged), 收到, 已提交 (waiting for review),
已通过, 退回, and 逾期 for an open share whose deadline has passed when the ledger is made.
"""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.ledger_writers import Sheet
from core.privacy import mask_pii
from core.statuses import OPEN, AssignmentStatus, TaskKind
from storage.readmodels import task_board
from storage.readmodels.places import VillagePlace
from storage.readmodels.task_completion import TaskEntry, names_of, task_entries
from storage.session import AsyncSession

TASKS = Sheet(
    "任务完成情况表",
    ("任务编号", "类型", "任务", "发布人", "发布时间", "截止时间", "乡镇", "村", "状态",
     "收到时间", "提交时间", "审核人", "审核时间", "退回理由"),
    (9, 6, 30, 10, 17, 17, 10, 10, 8, 17, 17, 10, 17, 30),
    datetime_cols=frozenset({4, 5, 9, 10, 12}),
)  # fmt: skip
OVERDUE = "逾期"
STATUS_WORDS = {
    AssignmentStatus.PENDING: "未读",
    AssignmentStatus.ACKED: "收到",
    AssignmentStatus.SUBMITTED: "已提交",
    AssignmentStatus.APPROVED: "已通过",
    AssignmentStatus.RETURNED: "退回",
}
ORDER = (*STATUS_WORDS.values(), OVERDUE)
KIND_WORDS = {TaskKind.TASK: "任务", TaskKind.NOTICE: "通知"}
SUMMARY = Sheet(
    "任务完成情况汇总",
    ("任务编号", "类型", "任务", "下发时间", "截止时间", "下发村数", "未读", "收到", "已提交",
     "已通过", "退回", "逾期", "收到率", "完成率", "逾期率"),
    (9, 6, 30, 17, 17, 9, 7, 7, 7, 7, 7, 7, 9, 9, 9),
    datetime_cols=frozenset({3, 4}),
    percent_cols=frozenset({12, 13, 14}),
)  # fmt: skip
# The count columns of SUMMARY after 下发村数, by the task page's state keys.
SUMMARY_STATES = (
    AssignmentStatus.PENDING,
    AssignmentStatus.ACKED,
    AssignmentStatus.SUBMITTED,
    AssignmentStatus.APPROVED,
    AssignmentStatus.RETURNED,
    task_board.OVERDUE,
)


def status_word(entry: TaskEntry, now: datetime) -> str:
    status = AssignmentStatus(entry.status)
    if status in OPEN and entry.deadline is not None and entry.deadline < now:
        return OVERDUE
    return STATUS_WORDS.get(status, entry.status)


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    return at.astimezone(tz).replace(tzinfo=None) if at else None


async def task_rows(
    session: AsyncSession,
    village_ids: list[int],
    places: dict[int, VillagePlace],
    bounds: tuple[datetime, datetime],
    now: datetime,
    tz: ZoneInfo,
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """The sheet's rows for the month ``bounds`` and its 合计 row."""
    entries = await task_entries(session, village_ids, *bounds)
    reviewers = await names_of(session, {e.reviewed_by for e in entries if e.reviewed_by})
    rows = []
    tally: Counter[str] = Counter()
    for e in entries:
        place = places.get(e.village_id)
        word = status_word(e, now)
        tally[word] += 1
        rows.append(
            (
                e.task_id, KIND_WORDS.get(TaskKind(e.kind), e.kind), mask_pii(e.title), e.sent_by,
                _local(e.sent_at, tz), _local(e.deadline, tz),
                place.town_name if place else "", place.village_name if place else "", word,
                _local(e.acked_at, tz), _local(e.submitted_at, tz),
                reviewers.get(e.reviewed_by) if e.reviewed_by else None,
                _local(e.reviewed_at, tz), mask_pii(e.return_reason or "") or None,
            )
        )  # fmt: skip
    tasks = len({e.task_id for e in entries})
    totals: list[Any] = ["合计", "任务数", tasks, "村次", len(entries)]
    for word in ORDER:
        totals += [word, tally[word]]
    return rows, tuple(totals)


def _share(n: int, total: int) -> float:
    return n / total if total else 0.0


async def summary_rows(
    session: AsyncSession,
    task_ids: list[int],
    village_ids: list[int],
    now: datetime,
    tz: ZoneInfo,
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """One row per task (收到率: villages that acknowledged; 完成率: approved for a task,
    acknowledged for a notice, as on the task page; 逾期率: open past the deadline) and the
    合计 row, whose rates are over all the task-village pairs."""
    rows = []
    sums: Counter[str] = Counter()
    acknowledged = completed = villages = 0
    for t in await task_board.task_tallies(session, task_ids, village_ids, now):
        counts = [t.counts.get(key, 0) for key in SUMMARY_STATES]
        overdue = t.counts.get(task_board.OVERDUE, 0)
        rows.append(
            (
                t.task.number, KIND_WORDS.get(TaskKind(t.task.kind), t.task.kind),
                mask_pii(t.task.title), _local(t.task.created_at, tz), _local(t.task.deadline, tz),
                t.total, *counts, t.acknowledged, t.completed, _share(overdue, t.total),
            )
        )  # fmt: skip
        sums.update(dict(zip(SUMMARY_STATES, counts, strict=True)))
        villages += t.total
        acknowledged += round(t.acknowledged * t.total)
        completed += round(t.completed * t.total)
    totals = (
        "合计", None, f"{len(rows)} 项", None, None, villages,
        *(sums[key] for key in SUMMARY_STATES), _share(acknowledged, villages),
        _share(completed, villages), _share(sums[task_board.OVERDUE], villages),
    )  # fmt: skip
    return rows, totals
