"""Households (户): import from a roster, look up by code, list by village.

Import is all-or-nothing: every row is checked first (village exists, category known, code
unique in the file, members a number in range, required cells present); any bad row means
nothing is written and every bad row is reported with its row number and a Chinese reason.
A good file imported again updates rows in place by 户编号 (idempotent).
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.rules import HOUSEHOLD_CATEGORIES
from storage import village_tallies
from storage.models import Household, Person, Region

# The roster's header row, in order (a file may order the columns differently).
COLUMNS = (
    "户编号",
    "户主姓名",
    "所属乡镇",
    "所属村",
    "户类型",
    "家庭人口",
    "帮扶责任人",
    "联系电话",
)
REQUIRED = ("户编号", "户主姓名", "所属乡镇", "所属村", "户类型", "家庭人口")
MAX_ROWS = 200_000
MAX_MEMBERS = 30
OUTSIDE_SCOPE = "「{t}/{v}」不在您的辖区内，整个文件未导入"
# Names used in practice for the same categories.
CATEGORY_ALIASES = {"风险监测户": "监测户", "非建档立卡户": "一般户", "非贫困户": "一般户"}
_PHONE = re.compile(r"^\+?[0-9][0-9 -]{4,19}$")
_CHUNK = 500  # ids per IN (...) query: well under SQLite's variable limit

Progress = Callable[[str, int, int], None]


@dataclass(frozen=True)
class HouseholdDTO:
    id: int
    code: str
    village_id: int
    head_name: str
    category: str
    members: int
    helper_name: str | None
    helper_id: int | None
    phone: str | None
    active: bool


@dataclass(frozen=True)
class RawRow:
    """One data row of a roster: its row number in the file and its cells by header."""

    line: int
    cells: dict[str, str]


@dataclass(frozen=True)
class RowError:
    line: int  # 0 for a problem with the whole file
    reason: str
    column: str = ""  # the header of the cell at fault, when it is one cell

    def __str__(self) -> str:
        return f"第 {self.line} 行：{self.reason}" if self.line else self.reason


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def household_dto(h: Household) -> HouseholdDTO:
    return HouseholdDTO(
        h.id,
        h.code,
        h.village_id,
        h.head_name,
        h.category,
        h.members,
        h.helper_name,
        h.helper_id,
        h.phone,
        h.active,
    )


async def get_household(session: AsyncSession, household_id: int) -> HouseholdDTO | None:
    h = await session.get(Household, household_id)
    return household_dto(h) if h else None


async def get_by_code(session: AsyncSession, code: str) -> HouseholdDTO | None:
    h = await session.scalar(sa.select(Household).where(Household.code == code.strip()))
    return household_dto(h) if h else None


async def list_by_village(
    session: AsyncSession, village_id: int, *, limit: int = 50, offset: int = 0
) -> list[HouseholdDTO]:
    rows = await session.scalars(
        sa.select(Household)
        .where(Household.village_id == village_id, Household.active)
        .order_by(Household.code)
        .limit(max(1, min(limit, 1000)))
        .offset(max(0, offset))
    )
    return [household_dto(h) for h in rows]


async def count_by_village(session: AsyncSession, village_id: int) -> int:
    return (
        await session.scalar(
            sa.select(sa.func.count())
            .select_from(Household)
            .where(Household.village_id == village_id, Household.active)
        )
        or 0
    )


def normalize_category(text: str) -> str | None:
    value = CATEGORY_ALIASES.get(text, text)
    return value if value in HOUSEHOLD_CATEGORIES else None


def phone_ok(text: str) -> bool:
    """A phone cell's shape (the roster's rule, also the console form's)."""
    return bool(_PHONE.match(text))


def missing_columns(header: Iterable[str]) -> list[str]:
    have = {h.strip() for h in header}
    return [c for c in REQUIRED if c not in have]


async def _village_index(session: AsyncSession) -> dict[tuple[str, str], list[int]]:
    """(township name, village name) -> village ids (more than one means ambiguous)."""
    town = aliased(Region)
    rows = await session.execute(
        sa.select(town.name, Region.name, Region.id)
        .join(town, town.id == Region.parent_id)
        .where(Region.level == "village")
    )
    index: dict[tuple[str, str], list[int]] = defaultdict(list)
    for town_name, village_name, village_id in rows:
        index[(town_name, village_name)].append(village_id)
    return index


def _check_code(line: int, code: str, seen: dict[str, int]) -> list[RowError]:
    """户编号: at most 32 characters and unique in the file (``seen`` remembers where)."""
    if len(code) > 32:
        return [RowError(line, "户编号太长（最多 32 个字符）", "户编号")]
    if code in seen:
        return [RowError(line, f"户编号 {code} 与第 {seen[code]} 行重复", "户编号")]
    seen[code] = line
    return []


def _members(line: int, text: str) -> tuple[int, list[RowError]]:
    """家庭人口: a whole number from 1 to MAX_MEMBERS."""
    try:
        members = int(text)
    except ValueError:
        return 0, [RowError(line, f"家庭人口「{text}」不是整数", "家庭人口")]
    if not 1 <= members <= MAX_MEMBERS:
        return members, [
            RowError(line, f"家庭人口 {members} 不在 1–{MAX_MEMBERS} 之间", "家庭人口")
        ]
    return members, []


def _check(
    row: RawRow,
    villages: dict[tuple[str, str], list[int]],
    seen: dict[str, int],
) -> tuple[dict[str, object] | None, list[RowError]]:
    c = {k: (row.cells.get(k) or "").strip() for k in COLUMNS}
    errors = [RowError(row.line, f"缺少「{name}」", name) for name in REQUIRED if not c[name]]
    if errors:
        return None, errors
    code = c["户编号"]
    errors.extend(_check_code(row.line, code, seen))
    for name in ("户主姓名", "帮扶责任人"):
        if len(c[name]) > 64:
            errors.append(RowError(row.line, f"「{name}」太长（最多 64 个字）", name))
    ids = villages.get((c["所属乡镇"], c["所属村"]), [])
    if not ids:
        errors.append(RowError(row.line, f"找不到村「{c['所属乡镇']}/{c['所属村']}」", "所属村"))
    elif len(ids) > 1:
        errors.append(
            RowError(row.line, f"「{c['所属乡镇']}/{c['所属村']}」有多个同名村", "所属村")
        )
    category = normalize_category(c["户类型"])
    if category is None:
        errors.append(
            RowError(
                row.line,
                f"户类型「{c['户类型']}」不对，应为：{'、'.join(HOUSEHOLD_CATEGORIES)}",
                "户类型",
            )
        )
    members, members_error = _members(row.line, c["家庭人口"])
    errors.extend(members_error)
    phone = c["联系电话"]
    if phone and not phone_ok(phone):
        errors.append(RowError(row.line, "联系电话格式不对", "联系电话"))
    if errors:
        return None, errors
    return {
        "code": code,
        "village_id": ids[0],
        "head_name": c["户主姓名"],
        "category": category,
        "members": members,
        "helper_name": c["帮扶责任人"] or None,
        "phone": phone or None,
    }, []


async def _helpers(session: AsyncSession, village_ids: set[int]) -> dict[tuple[int, str], int]:
    """(village id, name) -> person id, for names that are unique in that village."""
    found: dict[tuple[int, str], list[int]] = defaultdict(list)
    ids = sorted(village_ids)
    for start in range(0, len(ids), _CHUNK):
        rows = await session.execute(
            sa.select(Person.region_id, Person.name, Person.id).where(
                Person.region_id.in_(ids[start : start + _CHUNK]), Person.active
            )
        )
        for region_id, name, person_id in rows:
            found[(region_id, name)].append(person_id)
    return {key: pids[0] for key, pids in found.items() if len(pids) == 1}


def _outside(values: dict[str, object], allowed: Collection[int] | None) -> bool:
    return allowed is not None and values["village_id"] not in allowed


def _check_all(
    rows: Sequence[RawRow],
    villages: dict[tuple[str, str], list[int]],
    progress: Progress | None,
    every: int,
    allowed: Collection[int] | None = None,
) -> tuple[list[dict[str, object]], list[RowError]]:
    seen: dict[str, int] = {}
    good: list[dict[str, object]] = []
    errors: list[RowError] = []
    for i, row in enumerate(rows, 1):
        values, row_errors = _check(row, villages, seen)
        if values is not None and _outside(values, allowed):
            town, village = row.cells.get("所属乡镇", ""), row.cells.get("所属村", "")
            row_errors = [RowError(row.line, OUTSIDE_SCOPE.format(t=town, v=village), "所属村")]
            values = None
        if values is not None:
            good.append(values)
        errors.extend(row_errors)
        if progress and i % every == 0:
            progress("校验", i, len(rows))
    return good, errors


def _helper_of(values: dict[str, object], helpers: dict[tuple[int, str], int]) -> int | None:
    village_id, name = values["village_id"], values["helper_name"]
    if isinstance(village_id, int) and isinstance(name, str):
        return helpers.get((village_id, name))
    return None


_FIELDS = ("village_id", "head_name", "category", "members", "helper_name", "helper_id", "phone")


async def import_rows(
    session: AsyncSession,
    rows: Sequence[RawRow],
    now: datetime,
    *,
    progress: Progress | None = None,
    every: int = 10_000,
    allowed: Collection[int] | None = None,
) -> ImportReport:
    """Check every row, then write all of them or none. The caller owns the transaction and
    must not commit when the report has errors (nothing is written here in that case).
    ``allowed``: the only village ids the file may name (the importing person's scope); a row
    of any other village is an error, so the whole file is refused."""
    report = ImportReport(rows=len(rows))
    if len(rows) > MAX_ROWS:
        report.errors.append(RowError(0, f"文件超过 {MAX_ROWS} 行，请拆分后再导入"))
        return report
    villages = await _village_index(session)
    # Checking 200,000 rows is real CPU work: do it off the event loop.
    good, errors = await asyncio.to_thread(_check_all, rows, villages, progress, every, allowed)
    report.errors.extend(errors)
    if report.errors:
        return report
    helpers = await _helpers(session, {int(v["village_id"]) for v in good})  # type: ignore[call-overload]
    for v in good:
        v["helper_id"] = _helper_of(v, helpers)
    existing: dict[str, sa.Row[Any]] = {}
    codes = [str(v["code"]) for v in good]
    columns = [getattr(Household, f) for f in ("id", "code", "active", *_FIELDS)]
    for start in range(0, len(codes), _CHUNK):
        found = await session.execute(
            sa.select(*columns).where(Household.code.in_(codes[start : start + _CHUNK]))
        )
        existing.update({r.code: r for r in found})
    inserts: list[dict[str, object]] = []
    updates: list[dict[str, object]] = []
    for v in good:
        old = existing.get(str(v["code"]))
        if old is None:
            inserts.append({**v, "active": True, "created_at": now, "updated_at": now})
        elif old.active and all(getattr(old, f) == v[f] for f in _FIELDS):
            report.unchanged += 1
        else:
            updates.append({"id": old.id, **v, "active": True, "updated_at": now})
    done = 0
    for batch in (inserts, updates):
        for start in range(0, len(batch), 2000):
            chunk = batch[start : start + 2000]
            stmt = sa.insert(Household) if batch is inserts else sa.update(Household)
            await session.execute(stmt, chunk)
            done += len(chunk)
            if progress and (done % every < len(chunk) or done == len(inserts) + len(updates)):
                progress("写入", done, len(inserts) + len(updates))
    report.created, report.updated = len(inserts), len(updates)
    # The coverage tallies of every village a written household left or joined.
    touched = {int(v["village_id"]) for v in (*inserts, *updates)}  # type: ignore[call-overload]
    touched |= {existing[str(u["code"])].village_id for u in updates}
    await village_tallies.recount(session, touched)
    if len(inserts) > 1000 and session.get_bind().dialect.name == "postgresql":
        # Fresh statistics after a bulk load: otherwise the planner still believes the table
        # is small and the next import's code lookups become sequential scans.
        await session.execute(sa.text("ANALYZE households"))
    return report
