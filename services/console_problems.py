"""The console's problem pages (问题清单): the problems of the person's region by status and
village, a page at a time, and one problem with its before and after photos and the voice
notes sent with 整改完成.

A problem is named by its public number in the person's county (``问题 N``); another
region's problem is answered like an unknown one (NotFound), as the chat's 复核 does. The
review itself (复核通过 / 复核退回) is services.rectify's, called by the page as is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import Invalid, NotFound
from core.numbers import problem_ref
from core.roles import STAFF_ROLES
from core.statuses import ProblemStatus
from services import scope
from services import visit_texts as VT
from services.console import Paged, Scope, check_page, scoped_region
from storage import photos as photo_store
from storage import problems as problem_store
from storage import rectification as review_store
from storage import regions, task_rows
from storage.people import PersonDTO
from storage.problems import ProblemDTO
from storage.readmodels import problem_list as listing
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO

PROBLEM_STATUSES = tuple(s.value for s in ProblemStatus)
BAD_STATUS = "状态只能是：整改中、待复核、已整改、已作废。"


@dataclass(frozen=True)
class ProblemRow:
    problem: ProblemDTO
    village: str
    town: str
    age_days: int


@dataclass(frozen=True)
class ProblemList:
    scope: Scope
    status: str | None
    rows: list[ProblemRow]
    paged: Paged
    villages: list[VillagePlace]  # the filter's choices: the villages of the person's scope


@dataclass(frozen=True)
class ProblemView:
    row: ProblemRow
    before: tuple[str, ...]  # photo paths of the visit that found it
    after: tuple[str, ...]  # photo paths handed in with 整改完成
    submitted_at: datetime | None
    return_reason: str | None
    reviewer: bool  # the person may 复核 it now
    voices: tuple[str, ...] = ()  # voice notes' paths sent with 整改完成, oldest first


def age_days(problem: ProblemDTO, now: datetime) -> int:
    return max(0, (now - problem.found_at).days)


def _row(problem: ProblemDTO, places: dict[int, VillagePlace], now: datetime) -> ProblemRow:
    place = places.get(problem.village_id)
    village, town = (place.village_name, place.town_name) if place else ("", "")
    return ProblemRow(problem, village, town, age_days(problem, now))


async def problem_list(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    status: str | None,
    page: int,
    now: datetime,
) -> ProblemList:
    if status is not None and status not in PROBLEM_STATUSES:
        raise Invalid(BAD_STATUS, field="status")
    where = await scoped_region(session, me, region_id)
    total = await listing.count(session, where.village_ids, status)
    paged = Paged(check_page(page), total)
    found = await listing.page(
        session, where.village_ids, status, limit=paged.size, offset=paged.offset
    )
    mine = where if region_id is None else await scoped_region(session, me, None)
    choices = await village_places(session, mine.village_ids)
    places = {k: v for k, v in choices.items() if k in {p.village_id for p in found}}
    rows = [_row(p, places, now) for p in found]
    villages = sorted(choices.values(), key=lambda p: (p.town_name, p.village_name))
    return ProblemList(where, status, rows, paged, villages)


async def problem_view(
    session: AsyncSession, me: PersonDTO, number: int, *, now: datetime
) -> ProblemView:
    """Problem ``number`` of the person's county with its photos (NotFound outside the scope,
    like an unknown number)."""
    county = await regions.county_of(session, me.region_id)
    found = await problem_store.by_number(session, county.id, number) if county and number else None
    if found is None or not await scope.can_see(session, me, found.village_id):
        raise NotFound(VT.RECTIFY_UNKNOWN.format(ref=problem_ref(number)))
    item = await review_store.review_item(session, found.id)
    assert item is not None
    places = await village_places(session, [found.village_id])
    reason = await _return_reason(session, found)
    reviewer = me.role in STAFF_ROLES and found.status == ProblemStatus.REVIEW
    voices = await photo_store.voices_of(session, problem_ids=[found.id])
    return ProblemView(
        _row(found, places, now), item.before, item.after, item.submitted_at, reason, reviewer,
        voices.get(found.id, ()),
    )  # fmt: skip


async def _return_reason(session: AsyncSession, problem: ProblemDTO) -> str | None:
    if problem.assignment_id is None:
        return None
    item: AssignmentDTO | None = await task_rows.get_assignment(session, problem.assignment_id)
    return item.return_reason if item else None
