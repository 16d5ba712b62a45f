"""Ledgers produced from the visit records, not typed: 走访台账, 问题清单, 月度覆盖.

XLSX is written with openpyxl's write-only (streaming) workbook and CSV with the csv module;
rows come from the database in chunks and every write runs in a worker thread, so a 100k-row
county ledger neither blocks the event loop nor sits in memory at once.
"""

from __future__ import annotations

import asyncio
import csv
import queue
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from core.checklist import CHECK_ZH, CHECKS, CORE_CHECKS, STATUS_ZH
from core.privacy import mask_pii
from core.rules import Rules
from core.statuses import PROBLEM_ZH, ProblemStatus
from storage import regions
from storage.readmodels import ledger
from storage.readmodels.coverage import coverage_by_village
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession

CHUNK = ledger.CHUNK
DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
FLAG_ZH = {"outside_county": "不在本县范围", "outside_china": "位置异常"}


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]


VISITS = Sheet(
    "走访台账",
    ("走访时间", "乡镇", "村", "户编号", "户主", "户类别", "走访人",
     *(CHECK_ZH[k] for k in CHECKS), "备注", "照片数", "纬度", "经度", "位置核实"),
    (17, 10, 10, 12, 10, 12, 10, *(16 for _ in CHECKS), 30, 8, 11, 11, 14),
)  # fmt: skip
PROBLEMS = Sheet(
    "问题清单",
    ("编号", "乡镇", "村", "户编号", "户主", "问题类别", "问题描述", "发现时间", "整改期限", "状态",
     "整改完成时间"),
    (8, 10, 10, 12, 10, 12, 36, 17, 12, 10, 17),
)  # fmt: skip
COVERAGE = Sheet(
    "月度覆盖",
    ("乡镇", "村", "应访户数", "达标户数", "户覆盖率", "应访次数", "已访次数", "次数完成率"),
    (12, 12, 10, 10, 10, 10, 10, 11),
)
SHEETS = (VISITS, PROBLEMS, COVERAGE)
# Cells that hold local date-times / dates / percentages (by sheet and column index).
_DATETIME_COLS = {VISITS.name: {0}, PROBLEMS.name: {7, 10}}
_DATE_COLS = {PROBLEMS.name: {8}}
_PERCENT_COLS = {COVERAGE.name: {4, 7}}


class LedgerWriter(Protocol):
    paths: list[Path]

    def start(self, sheet: Sheet) -> None: ...
    def append(self, rows: Sequence[Sequence[Any]]) -> None: ...
    def close(self) -> None: ...


class XlsxWriter:
    """One workbook, one sheet per ledger: bold frozen header row, set widths, typed dates."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.paths = [path]
        self.wb = Workbook(write_only=True)
        self.ws: Any = None
        self.sheet: Sheet | None = None
        self.bold = Font(bold=True)

    def start(self, sheet: Sheet) -> None:
        ws = self.wb.create_sheet(sheet.name)
        ws.freeze_panes = "A2"
        for i, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        header = []
        for title in sheet.headers:
            cell = WriteOnlyCell(ws, value=title)
            cell.font = self.bold
            header.append(cell)
        ws.append(header)
        self.ws, self.sheet = ws, sheet

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.sheet is not None
        dt_cols = _DATETIME_COLS.get(self.sheet.name, set())
        d_cols = _DATE_COLS.get(self.sheet.name, set())
        pct_cols = _PERCENT_COLS.get(self.sheet.name, set())
        formatted = dt_cols | d_cols | pct_cols
        for row in rows:
            if not formatted:
                self.ws.append(row)
                continue
            out = list(row)
            for i in formatted:
                if out[i] is None:
                    continue
                cell = WriteOnlyCell(self.ws, value=out[i])
                cell.number_format = (
                    DATETIME_FORMAT if i in dt_cols else DATE_FORMAT if i in d_cols else "0.0%"
                )
                out[i] = cell
            self.ws.append(out)

    def close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.xlsx")
        self.wb.save(tmp)
        tmp.replace(self.path)


class CsvWriter:
    """One UTF-8 (with BOM, so Excel shows Chinese) CSV per ledger: the first at ``path``,
    the others next to it as ``<stem>_<ledger>.csv``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.paths: list[Path] = []
        self.file: Any = None
        self.writer: Any = None
        self.sheet: Sheet | None = None

    def start(self, sheet: Sheet) -> None:
        self._close_file()
        target = (
            self.path
            if not self.paths
            else self.path.with_name(f"{self.path.stem}_{sheet.name}{self.path.suffix}")
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        self.file = target.open("w", encoding="utf-8-sig", newline="")
        self.writer = csv.writer(self.file)
        self.writer.writerow(sheet.headers)
        self.paths.append(target)
        self.sheet = sheet

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.sheet is not None
        pct = _PERCENT_COLS.get(self.sheet.name, set())
        dates = _DATE_COLS.get(self.sheet.name, set())
        for row in rows:
            self.writer.writerow([_csv_value(v, i in pct, i in dates) for i, v in enumerate(row)])

    def _close_file(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def close(self) -> None:
        self._close_file()


def _csv_value(value: Any, percent: bool, date_only: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")
    if percent:
        return f"{value * 100:.1f}%"
    return value


def writer_for(path: Path) -> LedgerWriter:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return XlsxWriter(path)
    if suffix == ".csv":
        return CsvWriter(path)
    raise ValueError(f"unsupported ledger format {path.suffix!r} (use .xlsx or .csv)")


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


async def visit_rows(
    session: AsyncSession, village_ids: list[int], month: str, tz: ZoneInfo
) -> AsyncIterator[list[tuple[Any, ...]]]:
    places = await village_places(session, village_ids)
    async for part in ledger.visit_entries(session, village_ids, month, CHUNK):
        chunk = []
        for v in part:
            town, village = _names(places, v.village_id)
            chunk.append(
                (
                    _local(v.visited_at, tz), town, village, v.code, v.head_name, v.category,
                    v.visitor,
                    *(_check_cell(v.checklist.get(k), k in CORE_CHECKS) for k in CHECKS),
                    _free(v.note), v.photos, v.lat, v.lon, FLAG_ZH.get(v.location_flag or ""),
                )
            )  # fmt: skip
        yield chunk


def _free(text: str | None) -> str | None:
    """A free-text cell as exported: phone and ID numbers masked, empty as a blank cell."""
    return mask_pii(text or "") or None


def _names(places: dict[int, VillagePlace], village_id: int, default: str = "") -> tuple[str, str]:
    place = places.get(village_id)
    return (place.town_name, place.village_name) if place else ("", default)


async def problem_rows(
    session: AsyncSession, village_ids: list[int], month: str, tz: ZoneInfo
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
                p.id, town, village, p.code, p.head_name, p.kind, _free(p.description),
                _local(p.found_at, tz), due.replace(hour=0, minute=0) if due else None,
                PROBLEM_ZH.get(ProblemStatus(p.status), p.status), _local(p.closed_at, tz),
            )
        )  # fmt: skip
    return out


async def coverage_rows(
    session: AsyncSession, village_ids: list[int], month: str, quotas: dict[str, int]
) -> list[tuple[Any, ...]]:
    places = await village_places(session, village_ids)
    out = []
    for c in await coverage_by_village(session, village_ids, month, quotas):
        town, village = _names(places, c.region_id, c.name)
        out.append(
            (
                town, village, c.households_due, c.households_met, c.share,
                c.visits_required, c.visits_done,
                c.visits_done / c.visits_required if c.visits_required else 1.0,
            )
        )  # fmt: skip
    return out


@dataclass
class ExportResult:
    paths: list[Path]
    visits: int = 0
    problems: int = 0
    villages: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


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
                self.writer.start(arg)
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
    session: AsyncSession, region_id: int, month: str, rules: Rules, out: Path
) -> ExportResult:
    """Write the three ledgers of a region (county, township or village) for one month."""
    village_ids = await regions.village_ids_under(session, region_id)
    writer = writer_for(out)
    result = ExportResult(paths=[])
    pipe = _Pipe(writer)
    try:
        await pipe.put(("start", VISITS))
        async for chunk in visit_rows(session, village_ids, month, rules.timezone):
            result.visits += len(chunk)
            await pipe.put(("rows", chunk))
        problems = await problem_rows(session, village_ids, month, rules.timezone)
        result.problems = len(problems)
        await pipe.put(("start", PROBLEMS))
        await pipe.put(("rows", problems))
        coverage = await coverage_rows(session, village_ids, month, rules.visit_quotas)
        result.villages = len(coverage)
        await pipe.put(("start", COVERAGE))
        await pipe.put(("rows", coverage))
        await pipe.finish()
    finally:
        if not pipe.task.done():
            pipe.task.cancel()  # only reached on an error; the thread ends at the sentinel
            pipe.queue.put(None)
        await asyncio.to_thread(writer.close)
    result.paths = list(writer.paths)
    return result
