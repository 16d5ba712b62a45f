"""The curated policy FAQ table (政策问答): one row per entry, with the phrasings it answers.

Every write sets ``updated_at``, so :func:`version` (count and latest ``updated_at``) is a cheap
fingerprint the search index is rebuilt from (services.faq_index). The file format lives in
services.faq_file; the questions asked in chat in storage.questions.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, cast

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Faq
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
    )


async def all_entries(session: AsyncSession) -> list[FaqDTO]:
    rows = await session.scalars(sa.select(Faq).order_by(Faq.id))
    return [_dto(r) for r in rows]


async def get(session: AsyncSession, faq_id: str) -> FaqDTO | None:
    row = await session.get(Faq, faq_id)
    return _dto(row) if row else None


async def count(session: AsyncSession) -> int:
    return int(await session.scalar(sa.select(sa.func.count()).select_from(Faq)) or 0)


async def version(session: AsyncSession) -> tuple[int, str]:
    """A cheap fingerprint of the FAQ table: changes when an entry is added, removed or edited
    (every write sets ``updated_at``). One aggregate query; used before each search."""
    n, latest = (
        await session.execute(sa.select(sa.func.count(), sa.func.max(Faq.updated_at)))
    ).one()
    return int(n or 0), str(latest)


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
    return await insert_many_ignore(session, Faq, rows, ["id"])


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
    return bool(result.rowcount)
