"""The console's household pages (户, 一户一档), read-only: search by name or code within the
person's region (or a village of it), and one household's file. A household outside the
person's scope is answered like an unknown one (NotFound); phone numbers leave masked, and
free text (notes, problem descriptions) with phone and ID numbers masked."""

from __future__ import annotations

from dataclasses import dataclass, replace

from core.errors import NotFound
from core.privacy import mask_phone, mask_pii
from services import scope
from services.console import Paged, Scope, check_page, scoped_region
from storage.people import PersonDTO
from storage.readmodels import household_file as files
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession

PAGE_SIZE = 20
VISITS_PAGE = 10
NO_SUCH_HOUSEHOLD = "没有编号为 {id} 的户。"


@dataclass(frozen=True)
class HouseholdSearch:
    scope: Scope
    query: str
    items: list[files.HouseholdRow]
    places: dict[int, VillagePlace]
    paged: Paged


@dataclass(frozen=True)
class HouseholdFile:
    household: files.HouseholdRow
    place: VillagePlace | None
    visits: list[files.VisitRow]
    problems: list[files.ProblemRow]
    paged: Paged  # of the visits


def _masked(h: files.HouseholdRow) -> files.HouseholdRow:
    return replace(h, phone=mask_phone(h.phone) or None)


async def search(
    session: AsyncSession, me: PersonDTO, *, region_id: int | None, query: str, page: int
) -> HouseholdSearch:
    where = await scoped_region(session, me, region_id)
    q = query.strip()[: files.MAX_QUERY]
    total = await files.count_matching(session, where.village_ids, q)
    paged = Paged(check_page(page), total, PAGE_SIZE)
    items = await files.find(session, where.village_ids, q, limit=paged.size, offset=paged.offset)
    places = await village_places(session, sorted({h.village_id for h in items}))
    return HouseholdSearch(where, q, [_masked(h) for h in items], places, paged)


async def household_file(
    session: AsyncSession, me: PersonDTO, household_id: int, *, page: int
) -> HouseholdFile:
    found = await files.household(session, household_id) if household_id else None
    if found is None or not await scope.can_see(session, me, found.village_id):
        raise NotFound(NO_SUCH_HOUSEHOLD.format(id=household_id))
    paged = Paged(check_page(page), await files.count_visits(session, found.id), VISITS_PAGE)
    visits = await files.visits(session, found.id, limit=paged.size, offset=paged.offset)
    problems = await files.problems(session, found.id)
    places = await village_places(session, [found.village_id])
    return HouseholdFile(
        _masked(found),
        places.get(found.village_id),
        [replace(v, note=mask_pii(v.note) if v.note else None) for v in visits],
        [replace(p, description=mask_pii(p.description)) for p in problems],
        paged,
    )


async def village_choices(session: AsyncSession, me: PersonDTO) -> list[tuple[int, str, str]]:
    """(id, township name, village name) of the villages the person may filter by."""
    places = await village_places(session, await scope.village_ids(session, me))
    return sorted((p.village_id, p.town_name, p.village_name) for p in places.values())
