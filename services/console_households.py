"""The console's household pages (户, 一户一档): search by name or code within the person's
region (or a village of it; retired households only when asked), one household's file with its
change history (its audit rows, before and after), and what the edit forms offer. A household
outside the person's scope is answered like an unknown one (NotFound). Phone numbers leave
masked for every role (the console's and the ledger's rule), and free text (notes, problem
descriptions, reasons) with phone and ID numbers masked. The changes themselves are
services.households'."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from core.errors import NotFound
from core.privacy import mask_phone, mask_pii
from core.roles import STAFF_ROLES
from core.rules import HOUSEHOLD_CATEGORIES
from services import household_texts as HT
from services import households, scope
from services.console import Paged, Scope, check_page, scoped_region
from storage import household_edits
from storage.people import PersonDTO
from storage.readmodels import household_file as files
from storage.readmodels import household_history as history
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
    filters: files.Filters = files.Filters()


@dataclass(frozen=True)
class ChangeLine:
    """One row of a household's change history, ready to show."""

    at: datetime
    who: str
    action: str
    fields: list[tuple[str, str, str]]  # (field, before, after)
    reason: str = ""


@dataclass(frozen=True)
class HouseholdFile:
    household: files.HouseholdRow
    place: VillagePlace | None
    visits: list[files.VisitRow]
    problems: list[files.ProblemRow]
    paged: Paged  # of the visits
    changes: list[ChangeLine] = field(default_factory=list)
    changes_total: int = 0
    editable: bool = False  # the person may edit, retire and restore it
    helpers: list[str] = field(default_factory=list)  # suggestions for 帮扶责任人
    categories: tuple[str, ...] = HOUSEHOLD_CATEGORIES


def _masked(h: files.HouseholdRow) -> files.HouseholdRow:
    return replace(h, phone=mask_phone(h.phone) or None)


async def search(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    query: str,
    page: int,
    retired: bool = False,
    category: str = "",
    unvisited_in: str | None = None,
) -> HouseholdSearch:
    """The registry by name or code, a page at a time. ``category``: one of the registry's
    categories (anything else is no filter); ``unvisited_in``: a ``YYYY-MM`` month, only the
    households with no active visit in it (本月未走访)."""
    where = await scoped_region(session, me, region_id)
    q = query.strip()[: files.MAX_QUERY]
    filters = files.Filters(
        retired=retired,
        category=category if category in HOUSEHOLD_CATEGORIES else None,
        unvisited_in=unvisited_in,
    )
    total = await files.count_matching(session, where.village_ids, q, filters)
    paged = Paged(check_page(page), total, PAGE_SIZE)
    items = await files.find(
        session, where.village_ids, q, limit=paged.size, offset=paged.offset, filters=filters
    )
    places = await village_places(session, sorted({h.village_id for h in items}))
    return HouseholdSearch(where, q, [_masked(h) for h in items], places, paged, filters)


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
    editable = households.may_edit(me)
    return HouseholdFile(
        _masked(found),
        places.get(found.village_id),
        [replace(v, note=mask_pii(v.note) if v.note else None) for v in visits],
        [replace(p, description=mask_pii(p.description)) for p in problems],
        paged,
        changes=await _changes(session, found.id),
        changes_total=await history.count(session, found.id),
        editable=editable,
        helpers=await household_edits.village_helpers(session, found.village_id)
        if editable
        else [],
    )


def _shown(name: str, value: Any, villages: dict[int, VillagePlace]) -> str:
    if value is None or value == "":
        return "—"
    if name == "active" and isinstance(value, bool):
        return HT.ACTIVE_ZH[value]
    if name == "village" and isinstance(value, int) and value in villages:
        return f"{villages[value].town_name} {villages[value].village_name}"
    return mask_pii(str(value))


async def _changes(session: AsyncSession, household_id: int) -> list[ChangeLine]:
    rows = await history.changes(session, household_id)
    sides = [r.detail.get(side) or {} for r in rows for side in ("before", "after")]
    ids = sorted({d["village"] for d in sides if isinstance(d.get("village"), int)})
    villages = await village_places(session, ids) if ids else {}
    return [_line(r, villages) for r in rows]


def _line(row: history.Change, villages: dict[int, VillagePlace]) -> ChangeLine:
    before = row.detail.get("before") or {}
    after = row.detail.get("after") or {}
    names = [k for k in HT.FIELD_ZH if k in before or k in after]
    fields = [
        (
            HT.FIELD_ZH[k],
            _shown(k, before.get(k), villages),
            _shown(k, after.get(k), villages),
        )
        for k in names
    ]
    return ChangeLine(
        at=row.at,
        who=row.who or HT.OPERATOR,
        action=HT.ACTION_ZH.get(row.action, row.action),
        fields=fields,
        reason=mask_pii(str(row.detail.get("reason") or "")),
    )


async def village_choices(session: AsyncSession, me: PersonDTO) -> list[tuple[int, str, str]]:
    """(id, township name, village name) of the villages the person may filter by."""
    places = await village_places(session, await scope.village_ids(session, me))
    return sorted((p.village_id, p.town_name, p.village_name) for p in places.values())


def may_edit(me: PersonDTO) -> bool:
    """Whether to offer 添加户 and the edit forms (each change checks again)."""
    return households.may_edit(me)


async def addable_villages(session: AsyncSession, me: PersonDTO) -> list[tuple[int, str, str]]:
    """The villages a household may be added to (Refused for a role that only reads)."""
    scope.require_role(me, STAFF_ROLES, HT.WHAT_EDIT)
    return await village_choices(session, me)
