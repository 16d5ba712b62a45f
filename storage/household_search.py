"""Finding a household within one village by code or head name, tolerant of one wrong character.

A cadre types a name from memory ("王三汝" for 王三女): an exact code or name wins, then names
one character off, then the nearest names as suggestions. The village is loaded into Python
and matched there (villages are a few hundred households; ARCHITECTURE §4.2).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.households import HouseholdDTO, household_dto
from storage.models import Household

SEARCH_LIMIT = 8


@dataclass(frozen=True)
class Search:
    matches: list[HouseholdDTO]  # exact or near-exact (one wrong or missing character)
    nearest: list[HouseholdDTO]  # suggestions when nothing matched


def _near(query: str, name: str) -> bool:
    """One wrong, missing or extra character (names are 2-4 characters)."""
    if abs(len(query) - len(name)) > 1 or not query:
        return False
    if len(query) == len(name):
        return sum(a != b for a, b in zip(query, name, strict=True)) <= 1 and len(name) >= 2
    short, long_ = sorted((query, name), key=len)
    return len(short) >= 2 and any(long_[:i] + long_[i + 1 :] == short for i in range(len(long_)))


async def search_households(
    session: AsyncSession, village_id: int, query: str, limit: int = SEARCH_LIMIT
) -> Search:
    """Households of one village by code or head name, tolerant of one wrong character."""
    q = query.strip()
    rows = [
        household_dto(h)
        for h in await session.scalars(
            sa.select(Household)
            .where(Household.village_id == village_id, Household.active.is_(True))
            .order_by(Household.id)
        )
    ]
    if not q:
        return Search([], rows[:limit])
    exact = [h for h in rows if h.code.lower() == q.lower() or h.head_name == q]
    if exact:
        return Search(exact[:limit], [])
    near = [h for h in rows if _near(q, h.head_name)]
    # One wrong character beats one missing or extra one ("王三汝" is 王三女, not 王三).
    same_length = [h for h in near if len(h.head_name) == len(q)]
    if same_length or near:
        return Search((same_length or near)[:limit], [])
    scored = sorted(
        rows,
        key=lambda h: -difflib.SequenceMatcher(None, q, h.head_name).ratio(),
    )
    nearest = [h for h in scored if set(q) & set(h.head_name)][:limit]
    return Search([], nearest)


async def households_elsewhere(
    session: AsyncSession, village_id: int, query: str
) -> list[HouseholdDTO]:
    """Households with exactly this code or name in *other* villages (for the scope refusal)."""
    q = query.strip()
    rows = await session.scalars(
        sa.select(Household)
        .where(
            Household.village_id != village_id,
            sa.or_(Household.head_name == q, sa.func.lower(Household.code) == q.lower()),
        )
        .limit(5)
    )
    return [household_dto(h) for h in rows]


@dataclass(frozen=True)
class HouseholdName:
    """What finding a household named in free text needs: id, code and head name."""

    id: int
    code: str
    head_name: str


async def village_names(
    session: AsyncSession, village_id: int, limit: int = 5000
) -> list[HouseholdName]:
    """Every active household of one village, lean (three columns), in code order."""
    rows = await session.execute(
        sa.select(Household.id, Household.code, Household.head_name)
        .where(Household.village_id == village_id, Household.active.is_(True))
        .order_by(Household.code)
        .limit(limit)
    )
    return [HouseholdName(i, c, n) for i, c, n in rows]
