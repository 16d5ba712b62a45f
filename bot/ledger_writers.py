"""The ledger files: one streaming (write-only) XLSX workbook, or one CSV per ledger.

Each sheet has a title block (what, where, which month, 制表时间, 制表人), a bold frozen header,
set column widths, typed dates and percentages and a 合计 row. Every text cell is written as
text: a note a villager dictated that begins with ``=``, ``+``, ``-`` or ``@`` must never become
a live formula in the county's workbook (in the CSV it is prefixed with an apostrophe).
"""

from __future__ import annotations

import copy
import csv
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.hyperlink import Hyperlink

DATETIME_FORMAT = "yyyy-mm-dd hh:mm"
DATE_FORMAT = "yyyy-mm-dd"
PERCENT_FORMAT = "0.0%"
# A spreadsheet reads a cell starting with one of these as a formula (or a DDE command).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


@dataclass(frozen=True)
class Sheet:
    name: str
    headers: tuple[str, ...]
    widths: tuple[int, ...]
    datetime_cols: frozenset[int] = frozenset()
    date_cols: frozenset[int] = frozenset()
    percent_cols: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Title:
    """The title block above a sheet's header."""

    heading: str  # "示范县/东岭镇 2026-11 走访台账"
    prepared_at: datetime  # local wall-clock time
    prepared_by: str | None = None

    def lines(self) -> list[str]:
        made = f"制表时间：{self.prepared_at:%Y-%m-%d %H:%M}"
        return [self.heading, made + (f"　制表人：{self.prepared_by}" if self.prepared_by else "")]


@dataclass(frozen=True, slots=True)
class Link:
    """A cell that opens ``url`` (in a CSV: the URL itself)."""

    text: str
    url: str


def risky(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(FORMULA_STARTS)


class LedgerWriter(Protocol):
    paths: list[Path]

    def start(self, sheet: Sheet, title: Title) -> None: ...
    def append(self, rows: Sequence[Sequence[Any]]) -> None: ...
    def totals(self, row: Sequence[Any]) -> None: ...
    def close(self) -> None: ...


class XlsxWriter:
    """One workbook, one sheet per ledger."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.paths = [path]
        self.wb = Workbook(write_only=True)
        self.ws: Any = None
        self.sheet: Sheet | None = None
        self.bold = Font(bold=True)
        self.heading_font = Font(bold=True, size=14)
        self.link_font = Font(color="0563C1", underline="single")
        self.link_style: Any = None  # the style array of the first link cell, copied after

    def start(self, sheet: Sheet, title: Title) -> None:
        ws = self.wb.create_sheet(sheet.name)
        lines = title.lines()
        ws.freeze_panes = f"A{len(lines) + 3}"  # below the title, a blank row and the header
        for i, width in enumerate(sheet.widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = width
        self.ws, self.sheet = ws, sheet
        for n, line in enumerate(lines):
            ws.append([self._text(line, self.heading_font if n == 0 else None)])
        ws.append([])
        ws.append([self._text(h, self.bold) for h in sheet.headers])

    def _text(self, value: str, font: Font | None = None) -> WriteOnlyCell:
        cell = WriteOnlyCell(self.ws, value=value)
        cell.data_type = "s"  # text, whatever it starts with
        if font is not None:
            cell.font = font
        return cell

    def append(self, rows: Sequence[Sequence[Any]]) -> None:
        assert self.sheet is not None
        sheet = self.sheet
        formatted = sheet.datetime_cols | sheet.date_cols | sheet.percent_cols
        for row in rows:
            out = list(row)
            for i, value in enumerate(out):
                if risky(value):
                    out[i] = self._text(value)
                elif isinstance(value, Link):
                    out[i] = self._link(value)
            for i in formatted:
                if out[i] is None:
                    continue
                cell = WriteOnlyCell(self.ws, value=out[i])
                cell.number_format = (
                    DATETIME_FORMAT
                    if i in sheet.datetime_cols
                    else DATE_FORMAT
                    if i in sheet.date_cols
                    else PERCENT_FORMAT
                )
                out[i] = cell
            self.ws.append(out)

    def _link(self, link: Link) -> WriteOnlyCell:
        # Assigning a Font hashes it against the workbook's font list on every cell; a ledger
        # has tens of thousands of links, so later ones copy the first one's style ids.
        if self.link_style is None:
            cell = self._text(link.text, self.link_font)
            self.link_style = copy.copy(cell._style)
        else:
            cell = self._text(link.text)
            cell._style = copy.copy(self.link_style)
        cell.hyperlink = Hyperlink(ref="", target=link.url)
        return cell

    def totals(self, row: Sequence[Any]) -> None:
        assert self.sheet is not None
        out: list[Any] = []
        for i, value in enumerate(row):
            cell = self._text(value) if isinstance(value, str) else WriteOnlyCell(self.ws, value)
            cell.font = self.bold
            if i in self.sheet.percent_cols and value is not None:
                cell.number_format = PERCENT_FORMAT
            out.append(cell)
        self.ws.append(out)

    def close(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_suffix(".tmp.xlsx")
        self.wb.save(tmp)
        tmp.replace(self.path)


class CsvWriter:
    """One UTF-8 (with BOM, so Excel shows Chinese) CSV per ledger: the first at ``path``,
    the others next to it as ``<stem>_<ledger>.csv``. A CSV is data: header and rows only
    (no title block), and the 合计 row last."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.paths: list[Path] = []
        self.file: Any = None
        self.writer: Any = None
        self.sheet: Sheet | None = None

    def start(self, sheet: Sheet, title: Title) -> None:
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
        pct, dates = self.sheet.percent_cols, self.sheet.date_cols
        for row in rows:
            self.writer.writerow([_csv_value(v, i in pct, i in dates) for i, v in enumerate(row)])

    def totals(self, row: Sequence[Any]) -> None:
        self.append([row])

    def _close_file(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None

    def close(self) -> None:
        self._close_file()


def _csv_value(value: Any, percent: bool, date_only: bool) -> Any:
    if value is None:
        return ""
    if isinstance(value, Link):
        return value.url
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d" if date_only else "%Y-%m-%d %H:%M")
    if percent:
        return f"{value * 100:.1f}%"
    if risky(value):
        return "'" + value
    return value


def writer_for(path: Path) -> LedgerWriter:
    suffix = path.suffix.lower()
    if suffix == ".xlsx":
        return XlsxWriter(path)
    if suffix == ".csv":
        return CsvWriter(path)
    raise ValueError(f"unsupported ledger format {path.suffix!r} (use .xlsx or .csv)")
