"""Problems follow the checklist: each check marked as a problem has one open problem (with its
rectification item, 整改, assigned to the reporter); a check withdrawn by 修改, a merge or 撤销
leaves its problem void (kept on record, its item cancelled).

Problem rows and their Task/Assignment are written by storage/problems.py.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from core.checklist import CHECK_ZH
from core.rules import Rules
from core.statuses import ProblemStatus
from services import visit_texts as T
from storage import audit, regions
from storage import problems as problem_store
from storage.households import HouseholdDTO
from storage.people import PersonDTO
from storage.session import AsyncSession


async def open_for_checks(
    session: AsyncSession,
    person: PersonDTO,
    hh: HouseholdDTO,
    visit_id: int,
    checks: dict[str, Any],
    keys: list[str],
    *,
    now: datetime,
    rules: Rules,
) -> tuple[int, ...]:
    """Open a problem (and its rectification item) for each of ``keys``; their public
    numbers (``问题 5``)."""
    county = await regions.county_of(session, hh.village_id)
    assert county is not None
    numbers = []
    for key in keys:
        p = await problem_store.open_problem(
            session,
            household_id=hh.id,
            village_id=hh.village_id,
            county_id=county.id,
            visit_id=visit_id,
            kind=CHECK_ZH[key],
            title=T.PROBLEM_TITLE.format(name=hh.head_name, kind=CHECK_ZH[key]),
            description=checks[key].get("text") or CHECK_ZH[key],
            reporter_id=person.id,
            now=now,
            deadline=rules.rectify_deadline(now),
        )
        await audit.log(
            session,
            at=now,
            person_id=person.id,
            action="problem.open",
            obj=f"problem:{p.id}",
            detail={"visit": visit_id, "kind": key, "number": p.number},
        )
        numbers.append(p.number)
    return tuple(numbers)


async def void_open(
    session: AsyncSession, person: PersonDTO, visit_id: int, keep: set[str], now: datetime
) -> set[str]:
    """Void the visit's open problems whose kind is not in ``keep``; the kinds still open."""
    still_open = set()
    for p in await problem_store.for_visit(session, visit_id):
        if p.status != ProblemStatus.OPEN:
            continue
        if p.kind in keep:
            still_open.add(p.kind)
            continue
        await problem_store.void(session, p.id, now)
        await audit.log(
            session,
            at=now,
            person_id=person.id,
            action="problem.void",
            obj=f"problem:{p.id}",
            detail={"visit": visit_id},
        )
    return still_open
