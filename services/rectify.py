"""Rectification (整改): the open problems a person may see, and closing one with a photo.

整改完成 N names a problem by its public number in the person's county (``问题 N``, typed
by the person, so checked here against their scope); the photo that proves it (one sent in the PHOTO_WINDOW before, or the next one) becomes
the rectification item's evidence, by photo id, and its assignment is approved.
"""

from __future__ import annotations

from datetime import datetime

from core.errors import Conflict, NotFound
from core.numbers import problem_ref
from core.roles import VILLAGE_ROLES
from core.statuses import PROBLEM_ZH, ProblemStatus
from services import scope
from services import visit_texts as T
from services.visits_photos import photo_for_person
from storage import audit, regions
from storage import photos as photo_store
from storage import problems as problem_store
from storage.people import PersonDTO
from storage.problems import ProblemDTO
from storage.session import AsyncSession

LIST_LIMIT = 20


async def open_problem(session: AsyncSession, person: PersonDTO, number: int) -> ProblemDTO:
    """Open problem ``number`` of the person's county, within their scope, or the refusal
    that says why not."""
    county = await regions.county_of(session, person.region_id)
    problem = await problem_store.by_number(session, county.id, number) if county else None
    return await _still_open(session, person, problem, problem_ref(number))


async def _still_open(
    session: AsyncSession, person: PersonDTO, problem: ProblemDTO | None, ref: str
) -> ProblemDTO:
    # Another region's problem is answered like an unknown one: numbers are not an oracle.
    if problem is None or not await scope.can_see(session, person, problem.village_id):
        raise NotFound(T.RECTIFY_UNKNOWN.format(ref=ref))
    if problem.status != ProblemStatus.OPEN:
        status = PROBLEM_ZH.get(ProblemStatus(problem.status), problem.status)
        raise Conflict(T.RECTIFY_NOT_OPEN.format(ref=ref, status=status))
    return problem


async def evidence_at_hand(session: AsyncSession, person: PersonDTO, now: datetime) -> int | None:
    """The person's last loose photo of the PHOTO_WINDOW, which 整改完成 takes as its proof."""
    loose = await photo_store.loose_photos(session, person.id, now)
    return loose[-1] if loose else None


async def close(
    session: AsyncSession, person: PersonDTO, problem_id: int, photo_id: int, *, now: datetime
) -> ProblemDTO:
    """整改完成: close the problem (``problem_id``: the row open_problem found, kept by the
    flow), approve its item, the photo (by id) as its evidence."""
    scope.require_role(person, VILLAGE_ROLES, T.CLOSING_PROBLEMS)
    found = await problem_store.get(session, problem_id)
    ref = problem_ref(found.number) if found else T.THAT_PROBLEM
    problem = await _still_open(session, person, found, ref)
    await photo_for_person(session, person, photo_id)
    await problem_store.close(session, problem.id, photo_id, now)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="problem.close",
        obj=f"problem:{problem.id}",
        detail={"photo": photo_id, "number": problem.number},
    )
    return problem


async def open_problems(
    session: AsyncSession, person: PersonDTO, limit: int = LIST_LIMIT
) -> tuple[list[ProblemDTO], int]:
    """Open problems in the person's scope (oldest deadline first) and how many in all."""
    if person.is_village:
        villages = [person.region_id]
    else:
        villages = await scope.village_ids(session, person)
    return await problem_store.open_list(session, village_ids=villages, limit=limit)
