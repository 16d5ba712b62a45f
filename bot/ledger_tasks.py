"""The 任务完成情况表: per task (and notice) of the month, each village's status, when it
acknowledged and submitted, who reviewed it, and a 合计 row with the count of each status.

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
