"""Rectification (整改): the problems a person may see, handing in a fix with its photo, and
the review by township or county staff that alone clears a problem.

整改完成 N and 复核通过 / 复核退回 N name a problem by its public number in the person's county
(``问题 N``, typed by the person, so checked here against their scope); the photo that proves
it (one sent in the PHOTO_WINDOW before, or the next one) becomes the rectification item's
evidence, by photo id, and the problem waits for review (待复核). Staff whose region holds the
village answer 复核通过 (closed, 整改清零) or 复核退回 with a reason (open again, with a new
deadline); the village is told either way. Another region's problem is answered like an
unknown one.

A voice note sent while 整改完成 waits for its photo is kept with the problem (attach_voice):
the console's problem page plays it. It is not the proof: only the photo hands the fix in.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core import keys
from core.deadlines import show
from core.errors import Conflict, NotFound
from core.messages import Reply
from core.numbers import problem_ref
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from core.rules import Rules
from core.statuses import PROBLEM_ZH, ProblemStatus
from services import pushes, scope
from services import visit_texts as T
from services.visits_photos import photo_for_person
from storage import audit, regions
from storage import photos as photo_store
from storage import problems as problem_store
from storage import rectification as review_store
from storage.people import PersonDTO
from storage.problems import ProblemDTO
from storage.rectification import ReviewItem
from storage.session import AsyncSession

LIST_LIMIT = 20
MAX_REASON = review_store.MAX_REASON


def _status_zh(problem: ProblemDTO) -> str:
    return PROBLEM_ZH.get(ProblemStatus(problem.status), problem.status)


async def _visible(session: AsyncSession, person: PersonDTO, number: int) -> ProblemDTO:
    """Problem ``number`` of the person's county, when it is within their scope."""
    county = await regions.county_of(session, person.region_id)
    problem = await problem_store.by_number(session, county.id, number) if county else None
    # Another region's problem is answered like an unknown one: numbers are not an oracle.
    if problem is None or not await scope.can_see(session, person, problem.village_id):
        raise NotFound(T.RECTIFY_UNKNOWN.format(ref=problem_ref(number)))
    return problem


def _require_open(problem: ProblemDTO) -> ProblemDTO:
    if problem.status != ProblemStatus.OPEN:
        ref = problem_ref(problem.number)
        raise Conflict(T.RECTIFY_NOT_OPEN.format(ref=ref, status=_status_zh(problem)))
    return problem


async def open_problem(session: AsyncSession, person: PersonDTO, number: int) -> ProblemDTO:
    """Open problem ``number`` of the person's county, within their scope, or the refusal
    that says why not."""
    return _require_open(await _visible(session, person, number))


async def evidence_at_hand(session: AsyncSession, person: PersonDTO, now: datetime) -> int | None:
    """The person's last loose photo of the PHOTO_WINDOW, which 整改完成 takes as its proof."""
    loose = await photo_store.loose_photos(session, person.id, now)
    return loose[-1] if loose else None


async def submit_fix(
    session: AsyncSession, person: PersonDTO, problem_id: int, photo_id: int, *, now: datetime
) -> ProblemDTO:
    """整改完成: the fix and its photo (by id) are handed in; the problem waits for review
    (``problem_id``: the row open_problem found, kept by the flow)."""
    scope.require_role(person, VILLAGE_ROLES, T.CLOSING_PROBLEMS)
    found = await problem_store.get(session, problem_id)
    if found is None or not await scope.can_see(session, person, found.village_id):
        raise NotFound(T.RECTIFY_UNKNOWN.format(ref=T.THAT_PROBLEM))
    problem = _require_open(found)
    await photo_for_person(session, person, photo_id)
    if not await review_store.submit_fix(session, problem.id, photo_id, now):
        raise Conflict(T.RECTIFY_CHANGED.format(id=problem.number))
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="problem.fixed",
        obj=f"problem:{problem.id}",
        detail={
            "photo": photo_id,
            "number": problem.number,
            "before": ProblemStatus.OPEN,
            "after": ProblemStatus.REVIEW,
        },
    )
    return problem


@dataclass(frozen=True)
class VoiceNoted:
    """A voice note of 整改完成: the problem, whether this voice is newly its own (False: it
    came before and is attached already), and how many voice notes the problem has now."""

    problem: ProblemDTO
    linked: bool
    count: int


async def attach_voice(
    session: AsyncSession, person: PersonDTO, problem_id: int, photo_id: int, *, now: datetime
) -> VoiceNoted:
    """A voice note (a media row of kind voice, by id) sent during 整改完成 goes with the open
    problem: only the village's own cadres (the flow's problem, re-checked against the
    person's scope). The problem stays open; the photo is still asked for."""
    scope.require_role(person, VILLAGE_ROLES, T.CLOSING_PROBLEMS)
    found = await problem_store.get(session, problem_id)
    if found is None or not await scope.can_see(session, person, found.village_id):
        raise NotFound(T.RECTIFY_UNKNOWN.format(ref=T.THAT_PROBLEM))
    problem = _require_open(found)
    voice = await photo_for_person(session, person, photo_id)
    was_linked = voice.problem_id == problem.id
    linked = voice.kind == photo_store.VOICE and not was_linked
    linked = linked and await photo_store.attach_voice_to_problem(session, photo_id, problem.id)
    if linked:
        await audit.log(
            session,
            at=now,
            person_id=person.id,
            action="problem.voice",
            obj=f"problem:{problem.id}",
            detail={"photo": photo_id, "number": problem.number},
        )
    count = await photo_store.voice_count_of_problem(session, problem.id)
    return VoiceNoted(problem, linked, count)


async def open_problems(
    session: AsyncSession, person: PersonDTO, limit: int = LIST_LIMIT
) -> tuple[list[ProblemDTO], int]:
    """Problems not yet cleared in the person's scope (oldest deadline first), and how many."""
    if person.is_village:
        villages = [person.region_id]
    else:
        villages = await scope.village_ids(session, person)
    return await problem_store.open_list(session, village_ids=villages, limit=limit)


# --- review (复核) by township or county staff ------------------------------------------------


async def awaiting_review(
    session: AsyncSession, person: PersonDTO, limit: int = LIST_LIMIT
) -> tuple[list[ReviewItem], int]:
    """Fixes waiting for review in the staff member's villages, with before and after photos."""
    scope.require_role(person, STAFF_ROLES, T.REVIEWING_FIXES)
    villages = await scope.village_ids(session, person)
    return await review_store.awaiting_review(session, villages, limit)


async def _in_review(session: AsyncSession, person: PersonDTO, number: int) -> ReviewItem:
    scope.require_role(person, STAFF_ROLES, T.REVIEWING_FIXES)
    problem = await _visible(session, person, number)
    if problem.status != ProblemStatus.REVIEW:
        status = _status_zh(problem)
        raise Conflict(T.RECTIFY_NOT_IN_REVIEW.format(id=problem.number, status=status))
    item = await review_store.review_item(session, problem.id)
    if item is None:
        raise NotFound(T.RECTIFY_UNKNOWN.format(ref=problem_ref(number)))
    return item


async def review_item(session: AsyncSession, person: PersonDTO, number: int) -> ReviewItem:
    """Problem ``number``'s fix waiting for the staff member's review (else refused like an
    unknown one)."""
    return await _in_review(session, person, number)


async def _tell(
    session: AsyncSession, item: ReviewItem, verdict: str, text: str, now: datetime, rules: Rules
) -> None:
    if item.assignee_id is None:
        return
    stamp = int(item.submitted_at.timestamp()) if item.submitted_at else 0
    await pushes.push(
        session,
        to=item.assignee_id,
        reply=Reply(text),
        key=keys.rectify_review(item.problem.id, verdict, stamp),
        now=now,
        rules=rules,
        respect_quiet_hours=True,
    )


async def approve_fix(
    session: AsyncSession, person: PersonDTO, number: int, *, now: datetime, rules: Rules
) -> ReviewItem:
    """复核通过: the problem is cleared, its item approved; the village is told."""
    item = await _in_review(session, person, number)
    problem_id = item.problem.id
    if not await review_store.approve_fix(session, problem_id, now):
        raise Conflict(T.RECTIFY_CHANGED.format(id=number))
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="problem.approve",
        obj=f"problem:{problem_id}",
        detail={"number": number, "before": ProblemStatus.REVIEW, "after": ProblemStatus.CLOSED},
    )
    p = item.problem
    text = T.PUSH_FIX_APPROVED.format(id=p.number, name=p.household_name, kind=p.kind)
    await _tell(session, item, "approved", text, now, rules)
    return item


async def return_fix(
    session: AsyncSession,
    person: PersonDTO,
    number: int,
    *,
    reason: str,
    deadline: datetime,
    now: datetime,
    rules: Rules,
) -> ReviewItem:
    """复核退回: open again with the reason and a new deadline; the village is told."""
    item = await _in_review(session, person, number)
    problem_id = item.problem.id
    reason = reason.strip()[:MAX_REASON]
    if not await review_store.return_fix(
        session, problem_id, now, reason=reason, deadline=deadline
    ):
        raise Conflict(T.RECTIFY_CHANGED.format(id=number))
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="problem.return",
        obj=f"problem:{problem_id}",
        detail={
            "number": number,
            "before": ProblemStatus.REVIEW,
            "after": ProblemStatus.OPEN,
            "reason": reason[:200],
        },
    )
    p = item.problem
    text = T.PUSH_FIX_RETURNED.format(
        id=p.number,
        name=p.household_name,
        kind=p.kind,
        reason=reason,
        deadline=show(deadline, rules.timezone),
    )
    await _tell(session, item, "returned", text, now, rules)
    return item
