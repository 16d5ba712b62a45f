"""Ledgers produced from the records, not typed: 走访台账, 问题清单, 覆盖率, 任务完成情况表.

The files are written by bot.ledger_writers (openpyxl's write-only, streaming workbook, or CSV);
rows come from the database in chunks and every write runs in a worker thread, so a 100k-row
county ledger neither blocks the event loop nor sits in memory at once.
"""

from __future__ import annotations

import asyncio
import queue
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.ledger_tasks import SUMMARY, TASKS, summary_rows, task_rows
from bot.ledger_writers import LedgerWriter, Link, Sheet, Title, writer_for
from core.checklist import CHECK_ZH, CHECKS, CORE_CHECKS, STATUS_ZH
from core.privacy import mask_phone, mask_pii
from core.rules import QuotaPolicy, Rules
from core.statuses import PROBLEM_ZH, UNCLEARED, ProblemStatus
from storage import regions
from storage.readmodels import ledger
from storage.readmodels.coverage import coverage_by_village, roll_up
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession

CHUNK = ledger.CHUNK
FLAG_ZH = {"outside_county": "不在本县范围", "outside_china": "位置异常"}
_HOUSEHOLD = ("户编号", "户主")
_FAMILY = ("家庭人口", "帮扶责任人", "联系电话")
# Photo links per visit row (a visit with more photos shows them all in chat; 照片数 counts all).
PHOTO_LINKS = 3
PHOTO_LINK_TEXT = "查看"
# A stored photo's path -> its signed link for the person the ledger is made for.
PhotoLink = Callable[[str], str]
VOICE_LINK_TEXT = "播放"

VISITS = Sheet(
    "走访台账",
    ("走访时间", "乡镇", "村", *_HOUSEHOLD, "户类别", *_FAMILY, "走访人",
     *(CHECK_ZH[k] for k in CHECKS), "备注", "照片数",
     *(f"照片{n + 1}" for n in range(PHOTO_LINKS)), "纬度", "经度", "位置核实", "语音"),
    (17, 10, 10, 12, 10, 12, 9, 11, 14, 10, *(16 for _ in CHECKS), 30, 8,
     *(7 for _ in range(PHOTO_LINKS)), 11, 11, 14, 12),
    datetime_cols=frozenset({0}),
)  # fmt: skip
PROBLEMS = Sheet(
    "问题清单",
    ("问题编号", "乡镇", "村", *_HOUSEHOLD, *_FAMILY, "问题类别", "问题描述", "发现时间", "整改期限",
     "状态", "整改完成时间", "语音"),
    (8, 10, 10, 12, 10, 9, 11, 14, 12, 36, 17, 12, 10, 17, 12),
    datetime_cols=frozenset({10, 13}),
    date_cols=frozenset({11}),
)  # fmt: skip
COVERAGE = Sheet(
    "覆盖率",
    ("乡镇", "村", "应访户数", "达标户数", "户覆盖率", "应访次数", "已访次数", "次数完成率"),
    (12, 12, 10, 10, 10, 10, 10, 11),
    percent_cols=frozenset({4, 7}),
)
SHEETS = (VISITS, PROBLEMS, COVERAGE, SUMMARY, TASKS)
# (done, total) visit rows written; called on the event loop between chunks.
ExportProgress = Callable[[int, int], None]


# --- rows ------------------------------------------------------------------------------------


def _local(at: datetime | None, tz: ZoneInfo) -> datetime | None:
    # Excel has no time zones: cells hold the local wall-clock time.
    return at.astimezone(tz).replace(tzinfo=None) if at else None


def _check_cell(item: dict[str, Any] | None, core: bool) -> str | None:
    if not item:
        # The five core checks are on every visit form; the others are only filled in when
        # mentioned, so a blank there reads as "not covered" (and keeps the file small).
        return "未查看" if core else None
    status = STATUS_ZH.get(item.get("status", ""), item.get("status", ""))
    text = mask_pii(str(item.get("text") or ""))
    return f"{status}：{text}" if item.get("status") == "problem" and text else status


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


def _photo_cells(paths: tuple[str, ...], photo_link: PhotoLink | None) -> list[Link | None]:
    links: list[Link | None] = [
        Link(PHOTO_LINK_TEXT, photo_link(p)) if photo_link else None for p in paths[:PHOTO_LINKS]
    ]
    return links + [None] * (PHOTO_LINKS - len(links))


def _voice_cell(paths: tuple[str, ...], link: PhotoLink | None) -> Link | str | None:
    """The first voice note of a visit or a problem as a link (its signed link, like a
    photo's); with more, the count too (all of them play in the console: the household's
    page, the problem's page)."""
    if not paths:
        return None
    text = VOICE_LINK_TEXT if len(paths) == 1 else f"{VOICE_LINK_TEXT}（共 {len(paths)} 条）"
    return Link(text, link(paths[0])) if link else text


async def visit_rows(
    session: AsyncSession,
    village_ids: list[int],
    month: str,
    tz: ZoneInfo,
    photo_link: PhotoLink | None = None,
) -> AsyncIterator[list[tuple[Any, ...]]]:
    places = await village_places(session, village_ids)
    async for part in ledger.visit_entries(session, village_ids, month, CHUNK):
        chunk = []
        for v in part:
            town, village = _names(places, v.village_id)
            chunk.append(
                (
                    _local(v.visited_at, tz), town, village, v.code, v.head_name, v.category,
                    v.members, v.helper, _phone(v.phone), v.visitor,
                    *(_check_cell(v.checklist.get(k), k in CORE_CHECKS) for k in CHECKS),
                    _free(v.note), len(v.photos), *_photo_cells(v.photos, photo_link),
                    v.lat, v.lon, FLAG_ZH.get(v.location_flag or ""),
                    _voice_cell(v.voices, photo_link),
                )
            )  # fmt: skip
        yield chunk


def _phone(phone: str | None) -> str | None:
    return mask_phone(phone) or None


def _free(text: str | None) -> str | None:
    """A free-text cell as exported: phone and ID numbers masked, empty as a blank cell."""
    return mask_pii(text or "") or None


def _names(places: dict[int, VillagePlace], village_id: int, default: str = "") -> tuple[str, str]:
    place = places.get(village_id)
    return (place.town_name, place.village_name) if place else ("", default)


async def problem_rows(
    session: AsyncSession,
    village_ids: list[int],
    month: str,
    tz: ZoneInfo,
    photo_link: PhotoLink | None = None,
) -> list[tuple[Any, ...]]:
    """Problems found this month, and older ones still open at the end of it."""
    start, end = month_bounds(month, tz)
    places = await village_places(session, village_ids)
    out = []
    for p in await ledger.problem_entries(session, village_ids, start, end):
        town, village = _names(places, p.village_id)
        due = _local(p.deadline, tz)
        out.append(
            (
                p.number, town, village, p.code, p.head_name, p.members, p.helper, _phone(p.phone),
                p.kind, _free(p.description),
                _local(p.found_at, tz), due.replace(hour=0, minute=0) if due else None,
                PROBLEM_ZH.get(ProblemStatus(p.status), p.status), _local(p.closed_at, tz),
                _voice_cell(p.voices, photo_link),
            )
        )  # fmt: skip
    return out


async def coverage_rows(
    session: AsyncSession, village_ids: list[int], month: str, policy: QuotaPolicy
) -> tuple[list[tuple[Any, ...]], tuple[Any, ...]]:
    """One row per village and the 合计 row, from the coverage read model the digest reads."""
    places = await village_places(session, village_ids)
    out = []
    figures = await coverage_by_village(session, village_ids, month, policy)
    for c in figures:
        town, village = _names(places, c.region_id, c.name)
        out.append((town, village, *_coverage_figures(c)))
    return out, ("合计", None, *_coverage_figures(roll_up(figures, 0, "合计")))


def _coverage_figures(c: Any) -> tuple[Any, ...]:
    rate = c.visits_done / c.visits_required if c.visits_required else 1.0
    return (c.households_due, c.households_met, c.share, c.visits_required, c.visits_done, rate)


@dataclass
class ExportResult:
    paths: list[Path]
    visits: int = 0
    problems: int = 0
    villages: int = 0
    households: int = 0  # visited this month
    problems_open: int = 0
    problems_closed: int = 0
    tasks: int = 0  # rows of the 任务完成情况表 (one per task and village)
    extra: dict[str, Any] = field(default_factory=dict)

    def problem_totals(self) -> tuple[Any, ...]:
        return ("整改中", self.problems_open, "已整改", self.problems_closed)


class _Steps:
    """Progress in visit rows; the total grows if visits arrive while the file is written."""

    def __init__(self, progress: ExportProgress | None, total: int) -> None:
        self.progress, self.total = progress, total
        self(0)

    def __call__(self, done: int) -> None:
        if self.progress is not None:
            self.total = max(self.total, done)
            self.progress(done, self.total)


class _Pipe:
    """Rows go to the writer thread through a small bounded queue, so the database fetch of
    the next chunk overlaps the writing of the last one and memory stays at a few chunks."""

    def __init__(self, writer: LedgerWriter, depth: int = 4) -> None:
        self.writer = writer
        self.queue: queue.Queue[tuple[str, Any] | None] = queue.Queue(maxsize=depth)
        self.task = asyncio.ensure_future(asyncio.to_thread(self._consume))

    def _consume(self) -> None:
        while (item := self.queue.get()) is not None:
            action, arg = item
            if action == "start":
                self.writer.start(*arg)
            elif action == "totals":
                self.writer.totals(arg)
            else:
                self.writer.append(arg)

    async def put(self, item: tuple[str, Any] | None) -> None:
        while True:
            if self.task.done():
                self.task.result()  # the writer failed: raise its error here
                raise RuntimeError("ledger writer stopped early")
            try:
                self.queue.put_nowait(item)
                return
            except queue.Full:
                await asyncio.sleep(0.005)  # the writer is behind; let it catch up

    async def finish(self) -> None:
        await self.put(None)
        await self.task


async def export_visits(
    session: AsyncSession,
    region_id: int,
    month: str,
    rules: Rules,
    out: Path,
    *,
    now: datetime | None = None,
    prepared_by: str | None = None,
    photo_link: PhotoLink | None = None,
    progress: ExportProgress | None = None,
) -> ExportResult:
    """Write the ledgers of a region (county, township or village) for one month; photo
    cells link through ``photo_link`` (signed links for the person downloading), else stay
    blank. ``progress`` hears of the visit rows written (the bulk of the work)."""
    tz = rules.timezone
    village_ids = await regions.village_ids_under(session, region_id)
    path = await regions.path_name(session, region_id)
    now = now or datetime.now(UTC)
    made = _local(now, tz)
    assert made is not None

    def title(sheet: Sheet) -> Title:
        return Title(f"{path} {month} {sheet.name}", made, prepared_by)

    problems = await problem_rows(session, village_ids, month, tz, photo_link)
    coverage, coverage_total = await coverage_rows(session, village_ids, month, rules.quota_policy)
    places = await village_places(session, village_ids)
    tasks, tasks_total = await task_rows(
        session, village_ids, places, month_bounds(month, tz), now, tz
    )
    summary, summary_total = await summary_rows(
        session, sorted({row[0] for row in tasks}), village_ids, now, tz
    )
    step = _Steps(progress, await ledger.visit_count(session, village_ids, month))
    result = ExportResult(paths=[], problems=len(problems), villages=len(coverage))
    result.tasks = len(tasks)
    status_col = PROBLEMS.headers.index("状态")
    result.problems_open = sum(
        1 for p in problems if p[status_col] in {PROBLEM_ZH[ProblemStatus(x)] for x in UNCLEARED}
    )
    result.problems_closed = sum(
        1 for p in problems if p[status_col] == PROBLEM_ZH[ProblemStatus.CLOSED]
    )
    writer = writer_for(out)
    pipe = _Pipe(writer)
    try:
        await pipe.put(("start", (VISITS, title(VISITS))))
        households: set[str] = set()
        async for chunk in visit_rows(session, village_ids, month, tz, photo_link):
            result.visits += len(chunk)
            households.update(row[3] for row in chunk)
            await pipe.put(("rows", chunk))
            step(result.visits)
        result.households = len(households)
        totals = ("合计", "走访户数", result.households, "走访次数", result.visits, "问题数",
                  result.problems, *result.problem_totals())  # fmt: skip
        await pipe.put(("totals", totals))
        await pipe.put(("start", (PROBLEMS, title(PROBLEMS))))
        await pipe.put(("rows", problems))
        await pipe.put(("totals", ("合计", "问题数", result.problems, *result.problem_totals())))
        await pipe.put(("start", (COVERAGE, title(COVERAGE))))
        await pipe.put(("rows", coverage))
        await pipe.put(("totals", coverage_total))
        await pipe.put(("start", (SUMMARY, title(SUMMARY))))
        await pipe.put(("rows", summary))
        await pipe.put(("totals", summary_total))
        await pipe.put(("start", (TASKS, title(TASKS))))
        await pipe.put(("rows", tasks))
        await pipe.put(("totals", tasks_total))
        await pipe.finish()
    finally:
        if not pipe.task.done():
            pipe.task.cancel()  # only reached on an error; the thread ends at the sentinel
            pipe.queue.put(None)
        await asyncio.to_thread(writer.close)
    result.paths = list(writer.paths)
    return result
