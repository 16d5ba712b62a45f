"""Policy questions asked in chat and what became of each: answered from the FAQ, offered as
"did you mean" buttons, queued for the asker's county staff, answered by staff.

The queue of a county is its ``pending`` questions, oldest first (待答问题). A question gets
its public number (``提问 7``, core.numbers) when it enters that queue, and keeps it; questions
the FAQ answered take none, so the county's numbers have no gaps.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from core.numbers import Series
from storage import counters
from storage.faq import MAX_ANSWER
from storage.models import Question

MAX_ASKED = 500  # characters of a chat question kept in the queue

# Question.status values.
ANSWERED = "answered"  # the bot answered from the FAQ
SUGGESTED = "suggested"  # the bot offered "did you mean" buttons
PENDING = "pending"  # queued for county staff
STAFF_ANSWERED = "staff_answered"
IGNORED = "ignored"  # county staff took it off the queue unanswered (忽略, reason audited)


@dataclass(frozen=True)
class QuestionDTO:
    id: int
    asked_by: int
    county_id: int | None
    number: int | None  # given when queued for staff; None for an FAQ lookup
    text: str
    faq_id: str | None
    score: float | None
    status: str
    feedback: str | None
    answer: str | None
    answered_by: int | None
    answered_at: datetime | None
    created_at: datetime


def _qdto(row: Question) -> QuestionDTO:
    return QuestionDTO(
        id=row.id,
        asked_by=row.asked_by,
        county_id=row.county_id,
        number=row.number,
        text=row.text,
        faq_id=row.faq_id,
        score=row.score,
        status=row.status,
        feedback=row.feedback,
        answer=row.answer,
        answered_by=row.answered_by,
        answered_at=row.answered_at,
        created_at=row.created_at,
    )


async def record(
    session: AsyncSession,
    *,
    asked_by: int,
    county_id: int | None,
    text: str,
    status: str,
    now: datetime,
    faq_id: str | None = None,
    score: float | None = None,
) -> QuestionDTO:
    row = Question(
        asked_by=asked_by,
        county_id=county_id,
        text=text[:MAX_ASKED],
        faq_id=faq_id,
        score=score,
        status=status,
        created_at=now,
    )
    await _number_if_queued(session, row)
    session.add(row)
    await session.flush()
    return _qdto(row)


async def _number_if_queued(session: AsyncSession, row: Question) -> None:
    """A question entering its county's queue takes the county's next question number."""
    if row.status == PENDING and row.number is None and row.county_id is not None:
        row.number = await counters.next_number(session, row.county_id, Series.QUESTION)


async def get(session: AsyncSession, question_id: int) -> QuestionDTO | None:
    row = await session.get(Question, question_id)
    return _qdto(row) if row else None


async def by_number(session: AsyncSession, county_id: int, number: int) -> QuestionDTO | None:
    """The county's question ``number`` (``提问 7``)."""
    row = await session.scalar(
        sa.select(Question).where(Question.county_id == county_id, Question.number == number)
    )
    return _qdto(row) if row else None


async def update(session: AsyncSession, question_id: int, **values: Any) -> QuestionDTO | None:
    """Set fields of one question (status, faq_id, score, feedback, answer ...)."""
    row = await session.get(Question, question_id)
    if row is None:
        return None
    for key, value in values.items():
        if not hasattr(Question, key) or key in {"id", "asked_by", "created_at", "number"}:
            raise ValueError(f"cannot set question field {key!r}")
        setattr(row, key, value)
    await _number_if_queued(session, row)
    await session.flush()
    return _qdto(row)


async def pending(
    session: AsyncSession, county_id: int, limit: int = 20, offset: int = 0
) -> tuple[list[QuestionDTO], int]:
    """Questions waiting for this county's staff, oldest first (a page of ``limit`` from
    ``offset``), and how many in all."""
    where = (Question.county_id == county_id, Question.status == PENDING)
    total = await session.scalar(sa.select(sa.func.count()).select_from(Question).where(*where))
    rows = await session.scalars(
        sa.select(Question)
        .where(*where)
        .order_by(Question.created_at, Question.id)
        .limit(limit)
        .offset(offset)
    )
    return [_qdto(r) for r in rows], int(total or 0)


async def answer(
    session: AsyncSession, question_id: int, *, answer: str, by: int, now: datetime
) -> QuestionDTO | None:
    return await update(
        session,
        question_id,
        answer=answer[:MAX_ANSWER],
        answered_by=by,
        answered_at=now,
        status=STAFF_ANSWERED,
    )
