"""Where a village lies: its name and its township's, for figures grouped or labelled by town."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from core.roles import Level
from storage.models import Region


@dataclass(frozen=True)
class VillagePlace:
    village_id: int
    village_name: str
    town_id: int
    town_name: str


async def village_places(session: AsyncSession, village_ids: list[int]) -> dict[int, VillagePlace]:
    """The given villages with their townships (villages without a township are left out)."""
    if not village_ids:
        return {}
    town = aliased(Region)
    rows = await session.execute(
        sa.select(Region.id, Region.name, town.id, town.name)
        .join(town, town.id == Region.parent_id)
        .where(Region.id.in_(village_ids))
    )
    return {vid: VillagePlace(vid, vname, tid, tname) for vid, vname, tid, tname in rows}


async def villages_of_county(session: AsyncSession, county_id: int) -> dict[int, VillagePlace]:
    """Every village of a county (county > township > village), with its township."""
    town = aliased(Region)
    rows = await session.execute(
        sa.select(Region.id, Region.name, town.id, town.name)
        .join(town, town.id == Region.parent_id)
        .where(town.parent_id == county_id, Region.level == Level.VILLAGE)
    )
    return {vid: VillagePlace(vid, vname, tid, tname) for vid, vname, tid, tname in rows}
