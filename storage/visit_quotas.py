"""Per-region monthly visit quotas (一户一月几访) and the SQL expression of a household's quota.

The configured defaults (``CUNBOT_VISIT_QUOTAS``, one number per household category) hold
everywhere a county, township or village has not set its own number for that category in
``visit_quotas``; the nearest region wins (village over township over county). Overrides are
few, so :func:`quota_expr` resolves them per village in Python and writes one ``CASE``: no
join is added to the coverage queries, and none at all when no region overrides anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from storage.models import Household, Region, VisitQuota


@dataclass(frozen=True)
class QuotaOverride:
    region_id: int
    category: str
    per_month: int


async def overrides(
    session: AsyncSession, region_ids: list[int] | None = None
) -> list[QuotaOverride]:
    """Every override (of these regions only, when given), by region then category."""
    query = sa.select(VisitQuota.region_id, VisitQuota.category, VisitQuota.per_month)
    if region_ids is not None:
        query = query.where(VisitQuota.region_id.in_(region_ids))
    rows = await session.execute(query.order_by(VisitQuota.region_id, VisitQuota.category))
    return [QuotaOverride(*r) for r in rows]


async def put(
    session: AsyncSession, region_id: int, category: str, per_month: int | None, now: datetime
) -> int | None:
    """Set (or with ``None`` remove) a region's quota for a category; the number it had."""
    row = await session.scalar(
        sa.select(VisitQuota).where(
            VisitQuota.region_id == region_id, VisitQuota.category == category
        )
    )
    before = row.per_month if row is not None else None
    if per_month is None:
        if row is not None:
            await session.delete(row)
    elif row is None:
        session.add(
            VisitQuota(region_id=region_id, category=category, per_month=per_month, updated_at=now)
        )
    else:
        row.per_month = per_month
        row.updated_at = now
    await session.flush()
    return before


async def _village_chains(
    session: AsyncSession, village_ids: list[int]
) -> list[tuple[int, int | None, int | None]]:
    """(village, its township, its county) for each village."""
    town = aliased(Region)
    rows = await session.execute(
        sa.select(Region.id, Region.parent_id, town.parent_id)
        .outerjoin(town, town.id == Region.parent_id)
        .where(Region.id.in_(village_ids))
    )
    return [(v, t, c) for v, t, c in rows]


def effective(
    defaults: Mapping[str, int], chain: list[int | None], found: Mapping[tuple[int, str], int]
) -> dict[str, int]:
    """The quotas that hold in the last region of ``chain`` (county first, village last)."""
    quotas = dict(defaults)
    for region_id in chain:
        for (rid, category), n in found.items():
            if rid == region_id:
                quotas[category] = n
    return quotas


async def quota_expr(
    session: AsyncSession, village_ids: list[int], defaults: Mapping[str, int]
) -> sa.ColumnElement[int]:
    """A household's monthly quota, as SQL over ``Household`` rows of these villages."""
    default = _by_category(defaults)
    if not village_ids or not await session.scalar(sa.select(sa.func.count(VisitQuota.id))):
        return default
    chains = await _village_chains(session, village_ids)
    regions = {r for chain in chains for r in chain if r is not None}
    found = {(o.region_id, o.category): o.per_month for o in await overrides(session, [*regions])}
    if not found:
        return default
    groups: dict[tuple[tuple[str, int], ...], list[int]] = {}
    for village, town, county in chains:
        quotas = effective(defaults, [county, town, village], found)
        if quotas != dict(defaults):
            groups.setdefault(tuple(sorted(quotas.items())), []).append(village)
    if not groups:
        return default
    whens = [
        (Household.village_id.in_(villages), _by_category(dict(quotas)))
        for quotas, villages in groups.items()
    ]
    return sa.case(*whens, else_=default)


def _by_category(quotas: Mapping[str, int]) -> sa.ColumnElement[int]:
    if not quotas:
        return sa.literal(0)
    return sa.case(dict(quotas), value=Household.category, else_=0)
