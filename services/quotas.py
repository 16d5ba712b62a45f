"""A region's own monthly visit quotas (一户一月几访): set, cleared and shown, each change audited.

Quotas differ by household category and by place, so a county, township or village may set its
own number for a category; the nearest region's number wins over the configured default
(``CUNBOT_VISIT_QUOTAS``). Every reader of coverage applies the result through
storage.readmodels.coverage. The command line (``cunbot quota …``) is the entry point: an
operator's action, audited without a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from core.errors import Invalid, NotFound
from core.rules import HOUSEHOLD_CATEGORIES, QUOTA_MAX
from storage import audit, regions, visit_quotas
from storage.regions import RegionDTO
from storage.session import AsyncSession

UNKNOWN_CATEGORY = "户类型「{category}」不对，应为：{known}"
BAD_NUMBER = "每月走访次数应在 0 到 {max} 之间"
NO_REGION = "没有这个地区"


@dataclass(frozen=True)
class QuotaChange:
    region: RegionDTO
    category: str
    before: int | None  # the region's own number before (None: it had none)
    after: int | None


@dataclass(frozen=True)
class QuotaLine:
    category: str
    per_month: int
    source: str  # the region whose number holds, or "" for the configured default


def _check(category: str, per_month: int | None) -> None:
    if category not in HOUSEHOLD_CATEGORIES:
        known = "、".join(HOUSEHOLD_CATEGORIES)
        raise Invalid(UNKNOWN_CATEGORY.format(category=category[:16], known=known))
    if per_month is not None and not 0 <= per_month <= QUOTA_MAX:
        raise Invalid(BAD_NUMBER.format(max=QUOTA_MAX))


async def set_quota(
    session: AsyncSession,
    region_id: int,
    category: str,
    per_month: int | None,
    *,
    now: datetime,
    actor_id: int | None = None,
) -> QuotaChange:
    """Set a region's monthly quota for one category, or remove it (``None``: the region falls
    back to its parent's number or the default)."""
    _check(category, per_month)
    region = await regions.get(session, region_id)
    if region is None:
        raise NotFound(NO_REGION)
    before = await visit_quotas.put(session, region.id, category, per_month, now)
    await audit.log(
        session,
        at=now,
        person_id=actor_id,
        action="quota.set" if per_month is not None else "quota.clear",
        obj=f"region:{region.id}",
        detail={"category": category, "before": before, "after": per_month},
    )
    return QuotaChange(region, category, before, per_month)


async def quotas_of(
    session: AsyncSession, region_id: int, defaults: Mapping[str, int]
) -> list[QuotaLine]:
    """The quotas that hold in a region, per category, and where each number comes from."""
    chain = list(reversed(await regions.ancestors(session, region_id)))  # county first
    if not chain:
        raise NotFound(NO_REGION)
    own = {
        (o.region_id, o.category): o.per_month
        for o in await visit_quotas.overrides(session, [r.id for r in chain])
    }
    lines = []
    for category in HOUSEHOLD_CATEGORIES:
        number, source = defaults.get(category, 0), ""
        for r in chain:
            if (r.id, category) in own:
                number, source = own[(r.id, category)], r.name
        lines.append(QuotaLine(category, number, source))
    return lines
