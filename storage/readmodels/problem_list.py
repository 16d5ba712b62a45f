"""The console's problem list (问题清单): a region's problems, optionally of one status,
oldest found first, a page at a time, and how many there are."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Problem
from storage.problems import ProblemDTO, problem_dto, problems_query


def _where(village_ids: list[int], status: str | None) -> list[sa.ColumnElement[bool]]:
    where: list[sa.ColumnElement[bool]] = [Problem.village_id.in_(village_ids)]
    if status is not None:
        where.append(Problem.status == status)
    return where


async def count(session: AsyncSession, village_ids: list[int], status: str | None) -> int:
    if not village_ids:
        return 0
    total = await session.scalar(
        sa.select(sa.func.count()).select_from(Problem).where(*_where(village_ids, status))
    )
    return int(total or 0)


async def page(
    session: AsyncSession,
    village_ids: list[int],
    status: str | None,
    *,
    limit: int,
    offset: int,
) -> list[ProblemDTO]:
    if not village_ids:
        return []
    rows = await session.execute(
        problems_query()
        .where(*_where(village_ids, status))
        .order_by(Problem.found_at, Problem.id)
        .limit(limit)
        .offset(offset)
    )
    return [problem_dto(r) for r in rows]
