"""Read a household roster (CSV or XLSX) and import it all-or-nothing.

The header row is 户编号,户主姓名,所属乡镇,所属村,户类型,家庭人口,帮扶责任人,联系电话 (any order).
Files are read in a worker thread; progress goes to a callback every ``every`` rows.
"""

from __future__ import annotations

import asyncio
import csv
import io
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from storage import audit, households
from storage.households import MAX_ROWS, ImportReport, Progress, RawRow, RowError
from storage.session import AsyncSession, async_sessionmaker

PROGRESS_EVERY = 10_000


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float) and value.is_integer():
        return str(int(value))  # Excel stores 3 as 3.0 and long phone numbers as floats
    if isinstance(value, datetime | date):
        return value.isoformat()
    return str(value).strip()


def _csv_rows(path: Path) -> Iterator[list[str]]:
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")  # Excel on a Chinese Windows saves CSV as GBK
    yield from csv.reader(io.StringIO(text, newline=""))


def _xlsx_rows(path: Path) -> Iterator[list[Any]]:
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True, data_only=True)
    try:
        sheet = book.worksheets[0]
        for values in sheet.iter_rows(values_only=True):
            yield list(values)
    finally:
        book.close()


def read_roster(
    path: Path,
    progress: Progress | None = None,
    every: int = PROGRESS_EVERY,
    max_rows: int = MAX_ROWS,
) -> tuple[list[RawRow], list[RowError]]:
    """Rows with their spreadsheet row numbers (the header is row 1), or file-level errors."""
    if not path.is_file():
        return [], [RowError(0, f"找不到文件：{path}")]
    suffix = path.suffix.lower()
    if suffix == ".csv":
        source: Iterator[list[Any]] = _csv_rows(path)
    elif suffix in (".xlsx", ".xlsm"):
        source = _xlsx_rows(path)
    else:
        return [], [RowError(0, "只支持 CSV 或 XLSX（Excel）文件")]
    header: list[str] | None = None
    rows: list[RawRow] = []
    try:
        for line, values in enumerate(source, 1):
            cells = [_cell(v) for v in values]
            if not any(cells):
                continue
            if header is None:
                header = [c.lstrip("\ufeff") for c in cells]
                missing = households.missing_columns(header)
                if missing:
                    return [], [RowError(0, f"表头缺少：{'、'.join(missing)}（第 {line} 行）")]
                continue
            if len(rows) >= max_rows:
                return [], [RowError(0, f"文件超过 {max_rows} 行，请拆分后再导入")]
            rows.append(RawRow(line, {h: v for h, v in zip(header, cells, strict=False) if h}))
            if progress and len(rows) % every == 0:
                progress("读取", len(rows), 0)
    except (OSError, ValueError, KeyError, csv.Error, zipfile.BadZipFile) as exc:
        return [], [RowError(0, f"文件无法读取：{type(exc).__name__}")]
    if header is None:
        return [], [RowError(0, "文件是空的")]
    return rows, []


@dataclass(frozen=True)
class Importer:
    """Who imports and what they may touch: the CLI runs as the operator (no person, every
    village); the console as a signed-in person limited to the villages of their scope."""

    person_id: int | None = None
    allowed: frozenset[int] | None = None
    name: str | None = None  # the file's name as uploaded, for the audit row


CLI = Importer()


async def import_file(
    sessionmaker: async_sessionmaker,
    path: Path,
    now: datetime,
    progress: Progress | None = None,
    every: int = PROGRESS_EVERY,
    by: Importer = CLI,
) -> ImportReport:
    """Import the roster all-or-nothing; either way one audit row says what came of it."""
    rows, errors = await asyncio.to_thread(read_roster, path, progress, every)
    if errors:
        report = ImportReport(rows=len(rows), errors=errors)
        await _audit_apart(sessionmaker, path, now, report, by)
        return report
    async with sessionmaker() as session:
        tx = await session.begin()
        try:
            report = await households.import_rows(
                session, rows, now, progress=progress, every=every, allowed=by.allowed
            )
        except BaseException:
            await tx.rollback()
            raise
        if report.ok:
            await _audit(session, path, now, report, by)
            await tx.commit()
        else:
            await tx.rollback()
    if not report.ok:
        await _audit_apart(sessionmaker, path, now, report, by)
    return report


async def _audit(
    session: AsyncSession, path: Path, now: datetime, report: ImportReport, by: Importer
) -> None:
    await audit.log(
        session,
        at=now,
        person_id=by.person_id,  # None: the CLI runs as the operator, not as a person
        action="households.import" if report.ok else "households.import_failed",
        obj=f"file:{by.name or path.name}"[:64],
        detail={
            "rows": report.rows,
            "created": report.created,
            "updated": report.updated,
            "unchanged": report.unchanged,
            "errors": len(report.errors),
        },
    )


async def _audit_apart(
    sessionmaker: async_sessionmaker,
    path: Path,
    now: datetime,
    report: ImportReport,
    by: Importer,
) -> None:
    async with sessionmaker() as session, session.begin():
        await _audit(session, path, now, report, by)
