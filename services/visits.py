"""Household visits (入户走访): record one, amend it, fold a second report into it, revoke it.

The rules live here whatever entry point reports the visit (the chat's guided flow, a
one-message report, later the API):
- a second report of the same household within DUPLICATE_WINDOW may be the same visit: the
  caller is told (``Duplicate``) and asks; "same" folds it into the first (:func:`merge`);
- every check marked as a problem opens a problem with a rectification item (整改) assigned to
  the reporter, due ``rules.rectify_deadline``;
- problems follow the checklist: when an amend or merge withdraws a problem check, its open
  problem becomes void (kept on record); a new problem check opens a new one;
- the photos on the report's card attach to the visit (a visit started shows the sender's
  loose photos of the last PHOTO_WINDOW on its card: nothing attaches unseen), and a location
  shared just before the report (outside any flow) is taken from the inbox;
- 撤销 within REVOKE_WINDOW marks the visit revoked (kept) and voids its open problems.

Every id that came from a client (a household, a visit) is checked against the person's scope
here; an unknown and a foreign id get the same refusal. Nothing commits: the caller's unit of
work keeps or drops it all.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.checklist import problem_keys
from core.errors import Invalid, Refused
from core.roles import VILLAGE_ROLES
from core.rules import PHOTO_WINDOW, Rules
from services import scope, visits_problems
from services import visit_texts as T
from storage import audit, inbox, regions
from storage import household_search as search_store
from storage import households as household_store
from storage import photos as photo_store
from storage import visits as store
from storage.household_search import Search
from storage.households import HouseholdDTO
from storage.people import PersonDTO
from storage.readmodels import coverage
from storage.readmodels.coverage import HouseholdProgress
from storage.session import AsyncSession
from storage.visits import VisitDTO

log = logging.getLogger(__name__)

QUERY_MAX = 40  # a name or a code; anything longer is not one
PICK_BUTTONS = 8  # households offered to pick from


@dataclass(frozen=True)
class Location:
    lat: float
    lon: float
    flag: str | None


@dataclass(frozen=True)
class Report:
    """What the person reported about one household (a guided flow or one message)."""

    household_id: int
    checks: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    photos: tuple[int, ...] = ()
    lat: float | None = None
    lon: float | None = None
    flag: str | None = None
    flag_known: bool = False  # the flag was judged when the location came (household known)


@dataclass(frozen=True)
class Origin:
    """Where the report came from: the inbox has the sender's recent locations."""

    channel: str
    sender_id: str
    message_id: str | None = None


@dataclass(frozen=True)
class Duplicate:
    """The household already has a visit within DUPLICATE_WINDOW: ask before saving."""

    visit: VisitDTO
    household: HouseholdDTO
    minutes: int


@dataclass(frozen=True)
class Recorded:
    visit: VisitDTO
    household: HouseholdDTO
    photos: int  # attached to it
    problem_numbers: tuple[int, ...]
    visited: int  # this household's visits this month
    required: int


@dataclass(frozen=True)
class Amended:
    visit: VisitDTO
    household: HouseholdDTO
    problem_numbers: tuple[int, ...]  # problems newly opened
    merged: bool


# --- checks every use case here starts with -------------------------------------------------


def require_village(person: PersonDTO) -> int:
    """Visits are recorded by village people only; their village."""
    if person.region_level != "village":
        raise Refused(T.NO_VILLAGE)
    scope.require_role(person, VILLAGE_ROLES, T.RECORDING_VISITS)
    return person.region_id


def check_note(note: str | None) -> None:
    if note and len(note) > store.MAX_NOTE:
        raise Invalid(T.NOTE_TOO_LONG.format(n=len(note), limit=store.MAX_NOTE), field="note")


def not_yours(person: PersonDTO, what: str) -> Refused:
    return Refused(T.NOT_YOURS.format(region=person.region_name, what=what))


async def household_for(
    session: AsyncSession, person: PersonDTO, household_id: int
) -> HouseholdDTO:
    """The household, if it lies in the person's scope; unknown and foreign are refused alike."""
    hh = await household_store.get_household(session, household_id)
    if hh is None or not await scope.can_see(session, person, hh.village_id):
        raise not_yours(person, T.THIS_HOUSEHOLD)
    return hh


async def find_household(session: AsyncSession, person: PersonDTO, query: str) -> Search:
    """Households of the person's village by name or code; refused when it is another's."""
    village_id = require_village(person)
    query = query[:QUERY_MAX]
    found = await search_store.search_households(session, village_id, query)
    if not found.matches and await search_store.households_elsewhere(session, village_id, query):
        raise Refused(T.OTHER_VILLAGE.format(q=query, village=person.region_name))
    return found


async def still_due(
    session: AsyncSession, person: PersonDTO, *, now: datetime, rules: Rules
) -> list[HouseholdProgress]:
    """The first PICK_BUTTONS households of the person's village still due this month."""
    village_id = require_village(person)
    month = store.month_of(now, rules.timezone)
    progress = await coverage.village_progress(session, village_id, month, rules.quota_policy)
    return coverage.still_due(progress)[:PICK_BUTTONS]


async def location_flag(
    session: AsyncSession, village_id: int, lat: float, lon: float
) -> str | None:
    """Why a point is implausible for the village's county (``None`` when it is plausible)."""
    county = await regions.county_of(session, village_id)
    villages = await regions.village_ids_under(session, county.id) if county else [village_id]
    return await store.location_flag(session, villages, lat, lon)


async def audit_log(
    session: AsyncSession, person: PersonDTO, now: datetime, action: str, obj: str, detail: Any
) -> None:
    await audit.log(session, at=now, person_id=person.id, action=action, obj=obj, detail=detail)


# --- record ----------------------------------------------------------------------------------


async def _where(
    session: AsyncSession, hh: HouseholdDTO, report: Report, origin: Origin, now: datetime
) -> tuple[float | None, float | None, str | None]:
    lat, lon, flag = report.lat, report.lon, report.flag
    if lat is not None and lon is not None and not report.flag_known:
        flag = await location_flag(session, hh.village_id, lat, lon)  # shared before the household
    if lat is None:
        burst = await inbox.recent_location(
            session, origin.channel, origin.sender_id, now - PHOTO_WINDOW
        )
        if burst:
            lat, lon = burst
            flag = await location_flag(session, hh.village_id, lat, lon)
    return lat, lon, flag


async def _duplicate(session: AsyncSession, hh: HouseholdDTO, now: datetime) -> Duplicate | None:
    dup = await store.recent_visit_of(session, hh.id, now)
    if dup is None:
        return None
    minutes = max(1, int((now - dup.visited_at).total_seconds() // 60))
    return Duplicate(dup, hh, minutes)


async def record(
    session: AsyncSession,
    person: PersonDTO,
    report: Report,
    *,
    origin: Origin,
    now: datetime,
    rules: Rules,
    allow_duplicate: bool = False,
) -> Recorded | Duplicate:
    """Save the visit, open its problems, attach the photos; or the visit it may duplicate."""
    require_village(person)
    check_note(report.note)
    hh = await household_for(session, person, report.household_id)
    if not allow_duplicate:
        dup = await _duplicate(session, hh, now)
        if dup is not None:
            return dup
    lat, lon, flag = await _where(session, hh, report, origin, now)
    visit = await store.record_visit(
        session,
        household=hh,
        visitor_id=person.id,
        at=now,
        tz=rules.timezone,
        checklist=report.checks,
        note=report.note or None,
        lat=lat,
        lon=lon,
        location_flag=flag,
        source_message_id=origin.message_id,
    )
    photos = list(dict.fromkeys(report.photos))  # those on the card that was confirmed
    attached = await photo_store.attach_photos(session, photos, visit.id)
    problem_numbers = await visits_problems.open_for_checks(
        session,
        person,
        hh,
        visit.id,
        report.checks,
        problem_keys(report.checks),
        now=now,
        rules=rules,
    )
    await audit_log(
        session,
        person,
        now,
        "visit.record",
        f"visit:{visit.id}",
        {"household": hh.id, "checks": report.checks, "photos": photos, "flag": flag},
    )
    log.info("visit recorded visit=%s person=%s msg=%s", visit.id, person.id, origin.message_id)
    progress = await coverage.village_progress(
        session, hh.village_id, visit.month, rules.quota_policy
    )
    mine = next((p for p in progress if p.household_id == hh.id), None)
    return Recorded(
        visit,
        hh,
        attached,
        problem_numbers,
        visited=mine.visited if mine else 1,
        required=mine.required if mine else 0,
    )
