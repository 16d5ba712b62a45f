"""The curated policy FAQ table (政策问答): one row per entry, with the phrasings it answers.

Every write sets ``updated_at`` and moves the ``faq_state`` counter on, so :func:`version` is a
cheap fingerprint the search index is rebuilt from (services.faq_index); the counter makes it
change even when two writes carry the same time (a frozen test clock, or processes whose clocks
disagree). A retired entry (停用) stays in the table but is left out of :func:`all_entries`,
which the index is built from. The file format lives in services.faq_file; the questions asked
in chat in storage.questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Faq, FaqState
from storage.upsert import insert_many_ignore

MAX_QUESTION = 200  # characters of an entry's question (and of each variant)
MAX_ANSWER = 1000  # characters of an entry's answer (and of a staff answer)


@dataclass(frozen=True)
class FaqDTO:
    id: str
    question: str
    answer: str
    variants: tuple[str, ...] = ()
    source: str = ""
    tags: tuple[str, ...] = ()
    reviewed_on: date | None = None
    updated_at: datetime | None = None
    county_id: int | None = None  # None: answers everyone; else only askers of that county
    retired_at: datetime | None = None  # retired: kept, never answered from


def _dto(row: Faq) -> FaqDTO:
    return FaqDTO(
        id=row.id,
        question=row.question,
        answer=row.answer,
        variants=tuple(row.variants or ()),
        source=row.source or "",
        tags=tuple(row.tags or ()),
        reviewed_on=row.reviewed_on,
        updated_at=row.updated_at,
        county_id=row.county_id,
        retired_at=row.retired_at,
    )


# Move the write counter on (the row is made by migration 0010, or here on first use).
_BUMP = sa.text(
    "INSERT INTO faq_state (id, version) VALUES (1, 1) "
    "ON CONFLICT (id) DO UPDATE SET version = faq_state.version + 1"
)


async def _bump(session: AsyncSession) -> None:
    await session.execute(_BUMP)


async def all_entries(session: AsyncSession) -> list[FaqDTO]:
    """The entries in force (retired ones left out), by id."""
    rows = await session.scalars(sa.select(Faq).where(Faq.retired_at.is_(None)).order_by(Faq.id))
    return [_dto(r) for r in rows]


async def get(session: AsyncSession, faq_id: str) -> FaqDTO | None:
    row = await session.get(Faq, faq_id)
    return _dto(row) if row else None


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Faq)) or 0)


async def version(session: AsyncSession) -> tuple[int, str, int]:
    """A cheap fingerprint of the FAQ table: changes when an entry is added, removed, edited,
    retired or restored (every write sets ``updated_at`` and moves the counter on). One
    aggregate query; used before each search."""
    counter = sa.select(FaqState.version).where(FaqState.id == 1).scalar_subquery()
    n, latest, moved = (
        await session.execute(sa.select(sa.func.count(), sa.func.max(Faq.updated_at), counter))
    ).one()
    return int(n or 0), str(latest), int(moved or 0)


async def upsert_many(
    session: AsyncSession, entries: Sequence[FaqDTO], now: datetime
) -> tuple[int, int]:
    """Add new entries and overwrite existing ones with the same id -> (added, updated)."""
    existing = {
        r.id: r
        for r in await session.scalars(sa.select(Faq).where(Faq.id.in_([e.id for e in entries])))
    }
    added = updated = 0
    for e in entries:
        row = existing.get(e.id)
        if row is None:
            row = Faq(id=e.id)
            session.add(row)
            added += 1
        else:
            updated += 1
        row.question = e.question
        row.variants = list(e.variants)
        row.answer = e.answer
        row.source = e.source
        row.tags = list(e.tags)
        row.reviewed_on = e.reviewed_on
        row.county_id = e.county_id
        row.updated_at = now
    await session.flush()
    if entries:
        await _bump(session)
    return added, updated


async def seed(session: AsyncSession, entries: Sequence[FaqDTO], now: datetime) -> int:
    """Insert entries whose id is not taken yet -> how many were new. Safe when two service
    processes start on an empty table at once (the loser inserts nothing, and fails nothing)."""
    rows = [
        {
            "id": e.id,
            "question": e.question,
            "variants": list(e.variants),
            "answer": e.answer,
            "source": e.source,
            "tags": list(e.tags),
            "reviewed_on": e.reviewed_on,
            "county_id": e.county_id,
            "updated_at": now,
        }
        for e in entries
    ]
    added = await insert_many_ignore(session, Faq, rows, ["id"])
    if added:
        await _bump(session)
    return added


async def add(session: AsyncSession, entry: FaqDTO, now: datetime) -> FaqDTO:
    if await session.get(Faq, entry.id) is not None:
        raise ValueError(f"faq id exists: {entry.id}")
    await upsert_many(session, [entry], now)
    found = await get(session, entry.id)
    assert found is not None
    return found


async def delete(session: AsyncSession, faq_id: str) -> bool:
    result = cast(
        "sa.CursorResult[Any]", await session.execute(sa.delete(Faq).where(Faq.id == faq_id))
    )
    if result.rowcount:
        await _bump(session)
    return bool(result.rowcount)


async def set_retired(
    session: AsyncSession, faq_id: str, retired_at: datetime | None, now: datetime
) -> FaqDTO | None:
    """Retire an entry (``retired_at`` a time) or restore it (``None``)."""
    row = await session.get(Faq, faq_id)
    if row is None:
        return None
    row.retired_at = retired_at
    row.updated_at = now
    await session.flush()
    await _bump(session)
    return _dto(row)


@dataclass(frozen=True)
class Browse:
    """What to list: the county's own entries and/or the shared ones (never another county's),
    in force or retired, whose id, question, answer or source holds ``text``."""

    county_id: int | None
    own: bool = True
    shared: bool = True
    retired: bool = False
    text: str = ""


def _browse_where(b: Browse) -> list[sa.ColumnElement[bool]]:
    whose: list[sa.ColumnElement[bool]] = []
    if b.own and b.county_id is not None:
        whose.append(Faq.county_id == b.county_id)
    if b.shared:
        whose.append(Faq.county_id.is_(None))
    where = [sa.or_(*whose) if whose else sa.false()]
    where.append(Faq.retired_at.is_not(None) if b.retired else Faq.retired_at.is_(None))
    if b.text:
        where.append(
            sa.or_(
                *(
                    col.contains(b.text, autoescape=True)
                    for col in (Faq.id, Faq.question, Faq.answer, Faq.source)
                )
            )
        )
    return where


async def browse(
    session: AsyncSession, b: Browse, *, limit: int, offset: int
) -> tuple[list[FaqDTO], int]:
    """One page of the entries ``b`` selects (the county's own first, then by id), and how
    many it selects in all."""
    where = _browse_where(b)
    total = await session.scalar(sa.select(sa.func.count()).select_from(Faq).where(*where))
    rows = await session.scalars(
        sa.select(Faq)
        .where(*where)
        .order_by(Faq.county_id.is_(None), Faq.id)
        .limit(limit)
        .offset(offset)
    )
    return [_dto(r) for r in rows], int(total or 0)
