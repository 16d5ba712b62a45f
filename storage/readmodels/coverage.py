"""Monthly visit coverage: the one definition of "a household met its monthly quota".

A household's quota comes from its category: the configured default, or its county's,
township's or village's own number (storage.visit_quotas). It met the quota when what counts
of its active visits this month (each day with a visit, or each visit: ``QuotaPolicy.count``)
reaches a quota above zero. Every reader (本月走访, 未走访, the digests and the month-end
nudge, the 覆盖率 ledger, the console) goes through :func:`_per_household`, so the rule is
written once, in SQL, and the figures are computed in the database. What counts is read from
the visit summary storage.visit_summary keeps with every visit written (a household's active
visits of the month wherever they were recorded): one figure per household instead of every
visit, and for this month on the household row itself (see :func:`_households`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql import visitors

from core.rules import QuotaPolicy, VisitCount
from storage.models import (
    Household,
    HouseholdMonth,
    Region,
    VillageHouseholds,
    VillageMonthTally,
)
from storage.visit_quotas import quota_expr


@dataclass(frozen=True)
class HouseholdProgress:
    household_id: int
    code: str
    head_name: str
    category: str
    required: int
    visited: int  # what counts toward the quota: days with a visit, or visits
    met: bool  # the quota is above zero and this month's visits reached it


@dataclass(frozen=True)
class Coverage:
    region_id: int
    name: str
    households_due: int  # households with a quota above zero
    households_met: int  # ... that reached it
    visits_required: int
    visits_done: int  # capped at each household's quota

    @property
    def percent(self) -> float:
        return 100.0 * self.households_met / self.households_due if self.households_due else 100.0

    @property
    def share(self) -> float:
        """Households that met their quota, as a fraction (1.0 when none is due)."""
        return self.households_met / self.households_due if self.households_due else 1.0

    @property
    def short(self) -> int:
        """Households still below their quota."""
        return self.households_due - self.households_met


async def _per_household(
    session: AsyncSession, month: str, village_ids: list[int], policy: QuotaPolicy
) -> sa.Subquery:
    """Each active household of the villages: its quota (``required``), what counts of its
    active visits this month (``visited``) and whether it met the quota (``met``, 1 or 0)."""
    quota = await quota_expr(session, village_ids, policy.defaults)
    households, visited = await _households(session, month, village_ids, policy.count)
    return households.add_columns(
        Household.id.label("household_id"),
        Household.village_id.label("village_id"),
        Household.code.label("code"),
        Household.head_name.label("head_name"),
        Household.category.label("category"),
        quota.label("required"),
        visited.label("visited"),
        sa.case((_met(quota, visited), 1), else_=0).label("met"),
    ).subquery()


def _met(quota: sa.ColumnElement[int], visited: sa.ColumnElement[int]) -> sa.ColumnElement[bool]:
    """The rule: a quota above zero, reached."""
    return (quota > 0) & (visited >= quota)


async def _households(
    session: AsyncSession, month: str, village_ids: list[int], count: VisitCount
) -> tuple[sa.Select[Any], sa.ColumnElement[int]]:
    """The villages' active households (a SELECT to add columns to) and what counts toward
    the quota in ``month``: days with an active visit, or active visits (0: none).

    Both come from storage.visit_summary. When no household has a month later than
    ``month`` (this month, as a rule), each household row's copy of its latest month holds
    the figure and no join is needed; for an earlier month household_months is joined."""
    base = (
        sa.select()
        .select_from(Household)
        .where(Household.village_id.in_(village_ids), Household.active.is_(True))
    )
    latest = await session.scalar(sa.select(sa.func.max(Household.last_month)))
    day = count == VisitCount.DAY
    if latest is None or latest <= month:
        own = Household.last_month_days if day else Household.last_month_visits
        return base, sa.case((Household.last_month == month, own), else_=0)
    joined = base.outerjoin(
        HouseholdMonth,
        (HouseholdMonth.household_id == Household.id) & (HouseholdMonth.month == month),
    )
    return joined, sa.func.coalesce(HouseholdMonth.days if day else HouseholdMonth.visits, 0)


def _progress_columns(per: sa.Subquery) -> list[sa.ColumnElement[Any]]:
    h = per.c
    return [h.household_id, h.code, h.head_name, h.category, h.required, h.visited, h.met]


def _progress(row: Any) -> HouseholdProgress:
    hid, code, head, category, required, visited, met = row
    return HouseholdProgress(hid, code, head, category, int(required), int(visited), bool(met))


async def village_progress(
    session: AsyncSession, village_id: int, month: str, policy: QuotaPolicy
) -> list[HouseholdProgress]:
    """Every active household of a village with its quota and this month's visits."""
    per = await _per_household(session, month, [village_id], policy)
    rows = await session.execute(sa.select(*_progress_columns(per)).order_by(per.c.household_id))
    return [_progress(r) for r in rows]


def still_due(progress: list[HouseholdProgress]) -> list[HouseholdProgress]:
    """Households below their quota: fewest visits first, then most visits still owed."""
    due = [p for p in progress if p.required > 0 and not p.met]
    return sorted(due, key=lambda p: (p.visited, p.visited - p.required, p.household_id))


async def households_short(
    session: AsyncSession, village_ids: list[int], month: str, policy: QuotaPolicy, limit: int
) -> dict[int, list[HouseholdProgress]]:
    """Per village, the first ``limit`` households (by id) still below their quota."""
    if not village_ids:
        return {}
    per = await _per_household(session, month, village_ids, policy)
    h = per.c
    rank = sa.func.row_number().over(partition_by=h.village_id, order_by=h.household_id)
    ranked = (
        sa.select(h.village_id, *_progress_columns(per), rank.label("rank"))
        .where(h.required > 0, h.met == 0)
        .subquery()
    )
    r = ranked.c
    rows = await session.execute(
        sa.select(r.village_id, *_progress_columns(ranked))
        .where(r.rank <= limit)
        .order_by(r.village_id, r.household_id)
    )
    out: dict[int, list[HouseholdProgress]] = {}
    for row in rows:
        out.setdefault(row[0], []).append(_progress(row[1:]))
    return out


async def coverage_by_village(
    session: AsyncSession, village_ids: list[int], month: str, policy: QuotaPolicy
) -> list[Coverage]:
    """One row per village, from the village tallies (storage.village_tallies): households
    per (village, category, what counts this month), so the quota (the same CASE as
    :func:`_per_household`'s, over those groups) is worked out once per group and no
    household row is read."""
    if not village_ids:
        return []
    groups = _tally_groups(village_ids, month, policy.count)
    g = groups.c
    quota = _over(await quota_expr(session, village_ids, policy.defaults), g)
    capped = sa.case((g.visited > quota, quota), else_=g.visited)

    def total(of: sa.ColumnElement[int]) -> sa.ColumnElement[int]:
        return sa.func.coalesce(sa.func.sum(of * g.households), 0)

    query = (
        sa.select(
            Region.id,
            Region.name,
            total(sa.case((quota > 0, 1), else_=0)),
            total(sa.case((_met(quota, g.visited), 1), else_=0)),
            total(quota),
            total(capped),
        )
        .select_from(Region)
        .outerjoin(groups, g.village_id == Region.id)
        .where(Region.id.in_(village_ids))
        .group_by(Region.id, Region.name)
        .order_by(Region.id)
    )
    return [Coverage(r[0], r[1], *(int(x) for x in r[2:])) for r in await session.execute(query)]


def _over(expr: sa.ColumnElement[int], g: Any) -> sa.ColumnElement[int]:
    """``expr`` (over Household rows) over the groups' village_id and category instead."""

    def swap(element: Any, **_kw: Any) -> Any:
        if isinstance(element, sa.Column) and element.table is Household.__table__:
            return {"village_id": g.village_id, "category": g.category}.get(element.name)
        return None

    return visitors.replacement_traverse(expr, {}, swap)


def _tally_groups(village_ids: list[int], month: str, count: VisitCount) -> sa.Subquery:
    """(village_id, category, visited, households) rows whose households, summed per (village,
    category, visited), are the active households by what counts toward the quota this month:
    the month's tallies, plus each village's active households per category at visited 0,
    minus the tallied ones again at visited 0 (the coverage sums are linear in households)."""
    t, vh = VillageMonthTally, VillageHouseholds
    visited = t.days if count == VisitCount.DAY else t.visits
    month_rows = (t.village_id.in_(village_ids), t.month == month)
    tallied = sa.select(
        t.village_id.label("village_id"),
        t.category.label("category"),
        visited.label("visited"),
        t.households.label("households"),
    ).where(*month_rows)
    every = sa.select(vh.village_id, vh.category, sa.literal(0), vh.households).where(
        vh.village_id.in_(village_ids)
    )
    not_unvisited = sa.select(t.village_id, t.category, sa.literal(0), -t.households).where(
        *month_rows
    )
    return sa.union_all(tallied, every, not_unvisited).subquery()


def summarize(progress: list[HouseholdProgress], region_id: int, name: str) -> Coverage:
    """A village's coverage from its progress rows (saves a second query for 本月走访)."""
    due = [p for p in progress if p.required > 0]
    return Coverage(
        region_id,
        name,
        len(due),
        sum(1 for p in due if p.met),
        sum(p.required for p in due),
        sum(min(p.visited, p.required) for p in due),
    )


def roll_up(rows: list[Coverage], region_id: int, name: str) -> Coverage:
    return Coverage(
        region_id,
        name,
        sum(r.households_due for r in rows),
        sum(r.households_met for r in rows),
        sum(r.visits_required for r in rows),
        sum(r.visits_done for r in rows),
    )
