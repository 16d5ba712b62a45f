"""Changing a recorded visit: 修改 (amend), folding a second report into it (merge), 撤销.

Both amend and merge are allowed on an active visit within the person's scope; problems follow
the new checklist (services/visits_problems.py). 撤销 is one's own visit, within REVOKE_WINDOW,
and voids its open problems. Every change is audited with the values before and after.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.checklist import CHECK_ZH, problem_keys
from core.errors import Conflict, DomainError, Refused
from core.rules import Rules
from core.statuses import VisitStatus
from services import visit_texts as T
from services import visits_problems
from services.visits import (
    Amended,
    Location,
    Report,
    audit_log,
    check_note,
    household_for,
    require_village,
)
from storage import photos as photo_store
from storage import visits as store
from storage.households import HouseholdDTO
from storage.people import PersonDTO
from storage.session import AsyncSession
from storage.visits import VisitDTO


async def amend(
    session: AsyncSession,
    person: PersonDTO,
    visit_id: int,
    *,
    checks: dict[str, Any],
    note: str | None,
    photos: tuple[int, ...] = (),
    location: Location | None = None,
    now: datetime,
    rules: Rules,
    merged: bool = False,
) -> Amended | None:
    """Change an active visit; problems follow the new checklist. ``None`` when the visit is
    no longer active (revoked meanwhile)."""
    require_village(person)
    check_note(note)
    visit = await store.get_visit(session, visit_id)
    if visit is None or visit.status != VisitStatus.ACTIVE:
        return None
    hh = await household_for(session, person, visit.household_id)
    changes: dict[str, Any] = {"checklist": checks, "note": note or None}
    if location is not None:
        changes.update(lat=location.lat, lon=location.lon, location_flag=location.flag)
    updated, before = await store.amend(session, visit.id, now, **changes)
    wanted = problem_keys(updated.checklist)
    still_open = await visits_problems.void_open(
        session, person, visit.id, {CHECK_ZH[k] for k in wanted}, now
    )
    new_keys = [k for k in wanted if CHECK_ZH[k] not in still_open]
    problem_numbers = await visits_problems.open_for_checks(
        session, person, hh, visit.id, updated.checklist, new_keys, now=now, rules=rules
    )
    await photo_store.attach_photos(session, list(photos), visit.id)
    await audit_log(
        session,
        person,
        now,
        "visit.merge" if merged else "visit.amend",
        f"visit:{visit.id}",
        {"before": dict(before), "after": dict(changes)},
    )
    return Amended(updated, hh, problem_numbers, merged)


async def merge(
    session: AsyncSession,
    person: PersonDTO,
    duplicate_of: int,
    report: Report,
    *,
    now: datetime,
    rules: Rules,
) -> Amended | None:
    """The second report was the same visit: fold its checks, note and photos into the first."""
    visit = await store.get_visit(session, duplicate_of)
    if visit is None:
        return None
    checks = {**visit.checklist, **report.checks}
    notes = [n for n in (visit.note, report.note) if n]
    note = "；".join(dict.fromkeys(notes))[: store.MAX_NOTE] or None
    location = None
    if report.lat is not None and report.lon is not None:
        location = Location(report.lat, report.lon, report.flag)
    return await amend(
        session,
        person,
        visit.id,
        checks=checks,
        note=note,
        photos=report.photos,
        location=location,
        now=now,
        rules=rules,
        merged=True,
    )


async def amendable(session: AsyncSession, person: PersonDTO, now: datetime) -> VisitDTO | None:
    """The person's last visit, while it may still be amended or revoked (REVOKE_WINDOW)."""
    require_village(person)
    return await store.last_visit_by(session, person.id, since=now - store.REVOKE_WINDOW)


async def amendable_record(
    session: AsyncSession, person: PersonDTO, visit_id: int, now: datetime
) -> VisitDTO | None:
    """Record ``visit_id`` (the 记录号 the person was shown), while it may still be amended:
    active, recorded within REVOKE_WINDOW and in the person's scope; ``None`` otherwise (an
    unknown record and another village's look the same)."""
    require_village(person)
    visit = await store.get_visit(session, visit_id)
    if visit is None or visit.status != VisitStatus.ACTIVE:
        return None
    if now - visit.created_at > store.REVOKE_WINDOW:
        return None
    try:
        await household_for(session, person, visit.household_id)
    except DomainError:
        return None
    return visit


# --- revoke ----------------------------------------------------------------------------------


async def revocable(
    session: AsyncSession, person: PersonDTO, now: datetime
) -> tuple[VisitDTO, HouseholdDTO] | None:
    visit = await amendable(session, person, now)
    if visit is None:
        return None
    return visit, await household_for(session, person, visit.household_id)


async def revoke(
    session: AsyncSession, person: PersonDTO, visit_id: int, *, now: datetime
) -> VisitDTO:
    """Revoke one's own active visit within REVOKE_WINDOW; its open problems become void."""
    require_village(person)
    visit = await store.get_visit(session, visit_id)
    if visit is None or visit.visitor_id != person.id:  # unknown or not theirs: a refusal
        raise Refused(T.NOTHING_TO_REVOKE)
    if visit.status != VisitStatus.ACTIVE or now - visit.created_at > store.REVOKE_WINDOW:
        raise Conflict(T.NOTHING_TO_REVOKE)
    revoked = await store.revoke(session, visit.id, now)
    await visits_problems.void_open(session, person, visit.id, set(), now)
    await audit_log(
        session, person, now, "visit.revoke", f"visit:{visit.id}", {"household": visit.household_id}
    )
    return revoked
