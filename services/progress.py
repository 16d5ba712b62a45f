"""Monthly visit progress for the person asking: 本月走访 and 未走访.

A village cadre sees their village's households; township and county staff see coverage per
village (or per township, for a county) and may open the due list of any village within their
region. Scope is checked here, through services.scope, for every village id that comes from a
person (a typed name or a page button): an unknown, malformed or foreign id gets the same
refusal. Figures come from the coverage read model; the caller renders.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import Refused
from core.roles import Level
from core.rules import QuotaPolicy
from services import scope
from storage import regions
from storage.people import PersonDTO
from storage.readmodels import coverage
from storage.readmodels.coverage import Coverage, HouseholdProgress
from storage.readmodels.places import village_places
from storage.session import AsyncSession

NO_VILLAGE = "走访只能由驻村人员记录（您的辖区不是村）。"
WHAT = "这个村的数据"


@dataclass(frozen=True)
class VillageProgress:
    village_id: int
    name: str
    coverage: Coverage
    due: list[HouseholdProgress]  # below quota: fewest visits first


@dataclass(frozen=True)
class AreaProgress:
    total: Coverage  # the person's whole region
    parts: list[Coverage]  # per township for a county, per village below that; lowest first


async def village_due(
    session: AsyncSession,
    person: PersonDTO,
    village_id: int | None,
    month: str,
    policy: QuotaPolicy,
) -> VillageProgress:
    """One village's households and coverage; ``None`` means the person's own village."""
    if village_id is None:
        if person.region_level != Level.VILLAGE:
            raise Refused(NO_VILLAGE)
        village_id = person.region_id
    await scope.require_scope(session, person, village_id, WHAT)
    region = await regions.get(session, village_id)
    if region is None or region.level != Level.VILLAGE:
        # A township or county id in a forged button: the same words as a foreign village.
        raise Refused(scope.SCOPE_REFUSED.format(region=person.region_name, what=WHAT))
    progress = await coverage.village_progress(session, village_id, month, policy)
    return VillageProgress(
        village_id,
        region.name,
        coverage.summarize(progress, village_id, region.name),
        coverage.still_due(progress),
    )


async def find_village(session: AsyncSession, person: PersonDTO, name: str) -> int | None:
    """The first village called ``name`` within the person's region, if any."""
    for village in await regions.find(session, name, level=Level.VILLAGE):
        if await scope.can_see(session, person, village.id):
            return village.id
    return None


async def area_progress(
    session: AsyncSession, person: PersonDTO, month: str, policy: QuotaPolicy
) -> AreaProgress:
    """Coverage of the person's region, split by township (county) or village (township)."""
    village_ids = await scope.village_ids(session, person)
    rows = await coverage.coverage_by_village(session, village_ids, month, policy)
    total = coverage.roll_up(rows, person.region_id, person.region_name)
    parts = rows
    if person.region_level == Level.COUNTY:
        places = await village_places(session, [r.region_id for r in rows])
        towns: dict[int, list[Coverage]] = {}
        names: dict[int, str] = {}
        for r in rows:
            place = places[r.region_id]
            towns.setdefault(place.town_id, []).append(r)
            names[place.town_id] = place.town_name
        parts = [coverage.roll_up(g, tid, names[tid]) for tid, g in towns.items()]
    return AreaProgress(total, sorted(parts, key=lambda c: c.percent))
