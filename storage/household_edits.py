"""One household changed by hand (the console): added, its category and helper edited, retired
(``active`` false: out of quotas, coverage and search; its visits and problems stay) and
restored. The service checks the rules and writes the audit; these only write rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from core.roles import VILLAGE_ROLES
from storage import village_tallies
from storage.households import HouseholdDTO, household_dto
from storage.models import Household, Person

HELPERS_SHOWN = 200


@dataclass(frozen=True)
class NewHousehold:
    code: str
    village_id: int
    head_name: str
    category: str
    members: int
    helper_name: str | None
    helper_id: int | None
    phone: str | None


async def locked(session: AsyncSession, household_id: int) -> HouseholdDTO | None:
    """The household, its row locked until the transaction ends (PostgreSQL), so two editors
    cannot both read the same "before"."""
    h = await session.scalar(
        sa.select(Household).where(Household.id == household_id).with_for_update()
    )
    return household_dto(h) if h else None


async def code_taken(session: AsyncSession, code: str) -> bool:
    found = await session.scalar(
        sa.select(Household.id).where(sa.func.lower(Household.code) == code.lower()).limit(1)
    )
    return found is not None


async def add(session: AsyncSession, new: NewHousehold, now: datetime) -> int | None:
    """The new household's id; None when its code was taken meanwhile (nothing written)."""
    row = Household(
        code=new.code,
        village_id=new.village_id,
        head_name=new.head_name,
        category=new.category,
        members=new.members,
        helper_name=new.helper_name,
        helper_id=new.helper_id,
        phone=new.phone,
        active=True,
        created_at=now,
        updated_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        return None
    return row.id


async def change(session: AsyncSession, household_id: int, now: datetime, **values: object) -> None:
    """Set columns of one household (category, helper_name, helper_id, active); its
    village's tallies follow."""
    await session.execute(
        sa.update(Household)
        .where(Household.id == household_id)
        .values(**values, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if set(values) & set(village_tallies.WATCHED):
        village = await session.scalar(
            sa.select(Household.village_id).where(Household.id == household_id)
        )
        await village_tallies.recount(session, [village] if village is not None else [])


async def helper_id(session: AsyncSession, village_id: int, name: str) -> int | None:
    """The active person of that name in the village, when exactly one has it (the roster
    import's rule for 帮扶责任人)."""
    ids = list(
        await session.scalars(
            sa.select(Person.id)
            .where(Person.region_id == village_id, Person.name == name, Person.active)
            .limit(2)
        )
    )
    return ids[0] if len(ids) == 1 else None


async def village_helpers(session: AsyncSession, village_id: int) -> list[str]:
    """Names of the village's active cadres (suggestions for 帮扶责任人)."""
    names = await session.scalars(
        sa.select(Person.name)
        .where(
            Person.region_id == village_id,
            Person.active,
            Person.role.in_([str(r) for r in VILLAGE_ROLES]),
        )
        .distinct()
        .order_by(Person.name)
        .limit(HELPERS_SHOWN)
    )
    return list(names)
