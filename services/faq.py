"""Policy questions (政策问答) as use cases: ask, give feedback, pick a suggestion, and for the
asker's county staff: list the queue, answer a queued question, save an answer as an FAQ entry.

    asked = await ask(session, me, "低保渐退多长时间", index=faq_index, now=now)
    asked.outcome  # "answered" | "suggested" | "queued" | "no_county"

Every question is recorded with its best score, so the queue and the calibration data are the
same rows. A question the index cannot answer with confidence goes to the staff of the asker's
county (``pending``); they answer it (the answer is pushed to the asker) and may save it as an
entry, after which the index is rebuilt inside the same transaction, so the next question is
answered from it without a restart (other processes see the changed fingerprint on their own).

Each use case checks before it writes, so a refusal leaves nothing behind.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from core import keys
from core.errors import Conflict, Invalid, Refused
from core.messages import Reply
from core.numbers import question_ref
from core.roles import COUNTY_ROLES
from core.rules import Rules
from services import pushes, scope
from services.faq_index import FaqService
from services.faq_rank import Hit
from services.faq_search import Entry, normalize
from storage import audit, questions
from storage import faq as faq_store
from storage import people as people_store
from storage import regions as region_store
from storage.faq import FaqDTO
from storage.people import PersonDTO
from storage.questions import QuestionDTO
from storage.session import AsyncSession

MAX_STAFF_ANSWER = 1000
MAX_IGNORE_REASON = 200
SAVED_TAG = "县级答复"

# --- what the person sees when a use case refuses, and what it pushes -----------------------
STALE = "这个按钮已失效，请重新提问。"
NO_SUCH_QUESTION = "没有本县的{ref}，请发送「待答问题」查看编号。"
TOO_LONG = "答复太长了（最多 {limit} 字），请精简后再发。"
SAVE_NEEDS_ANSWER = "{ref} 还没有答复，请先发送「答复 {n} 内容」。"
SAVED_ALREADY = "{ref} 已经存为问答 {faq_id}。"
MERGED_ALREADY = "{ref} 已经合并到问答 {faq_id}，不用再存。"
IGNORE_REASON_NEEDED = "请写明忽略的原因（最多 {limit} 字）。"
HANDLED_ALREADY = "{ref} 已经处理过了，不在待答复的问题里。"
SAVED_SOURCE = "县级工作人员答复（{date}）"
PUSHED_ANSWER = "县里答复了您的问题（{ref}）：\n问：{question}\n答：{answer}"
ANSWERING = "回答政策问题"

Outcome = Literal["answered", "suggested", "queued", "no_county"]


class NoSuchQuestion(Refused):
    """No question of that number in the person's county (unknown and foreign alike); a web
    page answers it as not found."""

    status = 404


@dataclass(frozen=True)
class Asked:
    """What became of a question: answered from ``entry``, offered ``suggestions``, queued for
    the county's staff, or (no county above the asker) neither."""

    outcome: Outcome
    question: QuestionDTO
    entry: Entry | None = None
    suggestions: tuple[Hit, ...] = ()


@dataclass(frozen=True)
class Answered:
    question: QuestionDTO
    asker: PersonDTO | None


@dataclass(frozen=True)
class Queued:
    question: QuestionDTO
    asker: PersonDTO | None


@dataclass(frozen=True)
class Queue:
    """The oldest queued questions of the person's county and how many are queued in all."""

    items: tuple[Queued, ...]
    total: int


def is_blank(text: str) -> bool:
    """Nothing left once punctuation and politeness are removed (an empty 问)."""
    return not normalize(text.strip())


async def _county_id(session: AsyncSession, person: PersonDTO) -> int | None:
    county = await region_store.county_of(session, person.region_id)
    return county.id if county else None


# --- the asker ---------------------------------------------------------------------------------
async def likeness(
    session: AsyncSession, person: PersonDTO, text: str, *, index: FaqService
) -> float:
    """How much ``text`` looks like a question the FAQ knows: P of its best entry among those
    ``person`` may see (0 for nothing to search). Nothing is recorded; free-text routing
    uses it as a second witness before it calls a question-shaped message not understood."""
    faq_index = await index.current(session)
    if not faq_index.analyzer.words(normalize(text)):
        return 0.0
    county_id = await _county_id(session, person)
    return (await index.search(faq_index, text.strip(), county_id)).score


async def ask(
    session: AsyncSession, person: PersonDTO, text: str, *, index: FaqService, now: datetime
) -> Asked | None:
    """Search, record the question with its score, and decide; ``None`` when the text holds
    nothing to search for (only greetings or fillers: "你好", "在吗"), which is not recorded."""
    text = text.strip()
    faq_index = await index.current(session)
    if not faq_index.analyzer.words(normalize(text)):
        return None
    county_id = await _county_id(session, person)
    # Only entries of everyone and of the asker's own county are candidates (services.faq_rank).
    result = await index.search(faq_index, text, county_id)
    best = result.best
    status = {"answer": questions.ANSWERED, "suggest": questions.SUGGESTED}.get(
        result.decision, questions.PENDING
    )
    q = await questions.record(
        session,
        asked_by=person.id,
        county_id=county_id,
        text=text,
        status=status,
        now=now,
        faq_id=best.faq_id if best and status != questions.PENDING else None,
        score=result.score,
    )
    if status == questions.ANSWERED and best is not None:
        # The index holds the rows it was built from in this very session: no second lookup.
        return Asked("answered", q, entry=faq_index.entries[best.faq_id])
    if status == questions.SUGGESTED:
        return Asked("suggested", q, suggestions=result.hits)
    return Asked("queued" if county_id is not None else "no_county", q)


async def visible(session: AsyncSession, person: PersonDTO, entry: FaqDTO) -> bool:
    """An entry answers everyone, or (a county's own answer) only people of that county."""
    return entry.county_id is None or entry.county_id == await _county_id(session, person)


async def _own_question(session: AsyncSession, person: PersonDTO, question_id: int) -> QuestionDTO:
    q = await questions.get(session, question_id)
    if q is None or q.asked_by != person.id:
        raise Refused(STALE)
    return q


async def feedback(
    session: AsyncSession, person: PersonDTO, question_id: int, *, useful: bool
) -> QuestionDTO:
    """有用 / 没用 on an answer; 没用 also queues the question for staff."""
    q = await _own_question(session, person, question_id)
    if useful:
        changed = await questions.update(session, q.id, feedback="useful")
    else:
        changed = await questions.update(
            session, q.id, feedback="useless", status=questions.PENDING
        )
    assert changed is not None
    return changed


async def hand_off(session: AsyncSession, person: PersonDTO, question_id: int) -> QuestionDTO:
    """都不是: none of the suggestions fits, so the question goes to staff."""
    q = await _own_question(session, person, question_id)
    changed = await questions.update(session, q.id, status=questions.PENDING)
    assert changed is not None
    return changed


async def pick(
    session: AsyncSession, person: PersonDTO, question_id: int, faq_id: str
) -> tuple[QuestionDTO, FaqDTO]:
    """One of the suggestions was the question: it counts as answered by that entry. The
    entry id comes from a button: another county's own entry is refused like an unknown one."""
    q = await _own_question(session, person, question_id)
    entry = await faq_store.get(session, faq_id)
    if entry is None or entry.retired_at is not None or not await visible(session, person, entry):
        raise Refused(STALE)
    changed = await questions.update(session, q.id, faq_id=entry.id, status=questions.ANSWERED)
    assert changed is not None
    return changed, entry


# --- county staff ------------------------------------------------------------------------------
def require_answerer(person: PersonDTO) -> None:
    """Only county staff answer the county's questions (Refused otherwise)."""
    scope.require_role(person, COUNTY_ROLES, ANSWERING)


async def unanswered(
    session: AsyncSession, person: PersonDTO, *, limit: int = 10, offset: int = 0
) -> Queue:
    """The questions queued for the person's county, oldest first, ``limit`` of them from
    ``offset`` (empty without a county)."""
    require_answerer(person)
    county_id = await _county_id(session, person)
    if county_id is None:
        return Queue((), 0)
    rows, total = await questions.pending(session, county_id, limit=limit, offset=offset)
    items = [Queued(q, await people_store.get(session, q.asked_by)) for q in rows]
    return Queue(tuple(items), total)


async def _county_question(session: AsyncSession, person: PersonDTO, number: int) -> QuestionDTO:
    """Question ``number`` of the person's own county (``提问 7``); any other number gets
    the same refusal."""
    require_answerer(person)
    county_id = await _county_id(session, person)
    q = await questions.by_number(session, county_id, number) if county_id is not None else None
    if q is None:
        raise NoSuchQuestion(NO_SUCH_QUESTION.format(ref=question_ref(number)))
    return q


async def queued(session: AsyncSession, person: PersonDTO, number: int) -> QuestionDTO:
    """Question ``number`` of the person's county (a page that acts on it shows it first)."""
    return await _county_question(session, person, number)


async def answer(
    session: AsyncSession,
    person: PersonDTO,
    number: int,
    text: str,
    *,
    now: datetime,
    rules: Rules,
) -> Answered:
    """Answer queued question ``number`` and push the answer to the asker."""
    q = await _county_question(session, person, number)
    if len(text) > MAX_STAFF_ANSWER:
        raise Invalid(TOO_LONG.format(limit=MAX_STAFF_ANSWER))
    changed = await questions.answer(session, q.id, answer=text, by=person.id, now=now)
    assert changed is not None
    await pushes.push(
        session,
        to=q.asked_by,
        reply=Reply(
            PUSHED_ANSWER.format(ref=question_ref(number), question=q.text, answer=text),
            meta={"kind": "faq_staff_answer", "number": number},
        ),
        # A corrected answer is a new message, so the key carries the time of answering.
        key=keys.faq_answer(q.id, int(now.timestamp())),
        now=now,
        rules=rules,
    )
    await audit.log(
        session, at=now, person_id=person.id, action="faq.answer", obj=f"question:{q.id}"
    )
    return Answered(changed, await people_store.get(session, q.asked_by))


async def ignore(
    session: AsyncSession, person: PersonDTO, number: int, reason: str, *, now: datetime
) -> QuestionDTO:
    """忽略: take queued question ``number`` off the queue unanswered (a test message, a
    duplicate, not a policy question); the reason goes to the audit row. Nothing is pushed."""
    q = await _county_question(session, person, number)
    reason = reason.strip()
    if not reason or len(reason) > MAX_IGNORE_REASON:
        raise Invalid(IGNORE_REASON_NEEDED.format(limit=MAX_IGNORE_REASON), field="reason")
    if q.status != questions.PENDING:
        raise Conflict(HANDLED_ALREADY.format(ref=question_ref(number)))
    changed = await questions.update(
        session, q.id, status=questions.IGNORED, answered_by=person.id, answered_at=now
    )
    assert changed is not None
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="faq.ignore",
        obj=f"question:{q.id}",
        detail={"number": number, "reason": reason},
    )
    return changed


async def save_as_faq(
    session: AsyncSession,
    person: PersonDTO,
    number: int,
    *,
    index: FaqService | None,
    now: datetime,
    rules: Rules,
) -> FaqDTO:
    """Save the staff answer of question ``number`` as FAQ entry ``Q<row id>`` (FAQ entries
    are not a county's numbers) and rebuild the index, so the next question like it is
    answered from the new entry. The entry is the county's own: it answers askers of that
    county only (another county's policy may differ)."""
    q = await _county_question(session, person, number)
    ref = question_ref(number)
    if q.status != questions.STAFF_ANSWERED or not q.answer:
        raise Conflict(SAVE_NEEDS_ANSWER.format(ref=ref, n=number))
    faq_id = f"Q{q.id}"
    if q.faq_id is not None and q.faq_id != faq_id:
        raise Conflict(MERGED_ALREADY.format(ref=ref, faq_id=q.faq_id))
    if await faq_store.get(session, faq_id) is not None:
        raise Conflict(SAVED_ALREADY.format(ref=ref, faq_id=faq_id))
    today = rules.local(now).date()
    entry = await faq_store.add(
        session,
        FaqDTO(
            id=faq_id,
            question=q.text[: faq_store.MAX_QUESTION],
            answer=q.answer,
            source=SAVED_SOURCE.format(date=today.isoformat()),
            tags=(SAVED_TAG,),
            reviewed_on=today,
            county_id=q.county_id,
        ),
        now,
    )
    await questions.update(session, q.id, faq_id=faq_id)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="faq.save",
        obj=f"faq:{faq_id}",
        detail={"question": q.id, "number": number},
    )
    if index is not None:
        # Rebuild now (inside this transaction, which sees the new row).
        await index.current(session)
    return entry
