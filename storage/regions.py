"""The region hierarchy (县 > 乡镇 > 村) and scope checks."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Region

LEVELS = ("county", "township", "village")
LEVEL_ZH = {"county": "县", "township": "乡镇", "village": "村"}
# Key in ``session.info`` of the per-sessionmaker cache of regions by id (storage.db puts it
# there). Regions are only ever added, never renamed, moved or deleted, so an entry never goes
# stale; a region another process added is simply a miss and read from the database. Scope
# checks walk a region's ancestors on most messages, so this saves several queries each.
REGION_CACHE = "cunbot.regions"
# Ids this session added: not cached until committed (a rolled-back id may be used again).
_ADDED = "cunbot.regions.added"


@dataclass(frozen=True)
class RegionDTO:
    id: int
    parent_id: int | None
    level: str
    name: str
    code: str | None


def _dto(r: Region) -> RegionDTO:
    return RegionDTO(r.id, r.parent_id, r.level, r.name, r.code)


async def get(session: AsyncSession, region_id: int) -> RegionDTO | None:
    cache: dict[int, RegionDTO] | None = session.info.get(REGION_CACHE)
    if cache is not None and region_id in cache:
        return cache[region_id]
    r = await session.get(Region, region_id)
    if r is None:
        return None
    dto = _dto(r)
    if cache is not None and region_id not in session.info.get(_ADDED, ()):
        cache[region_id] = dto
    return dto


async def add(
    session: AsyncSession,
    level: str,
    name: str,
    parent_id: int | None = None,
    code: str | None = None,
) -> RegionDTO:
    if level not in LEVELS:
        raise ValueError(f"unknown region level {level!r}")
    r = Region(level=level, name=name, parent_id=parent_id, code=code)
    session.add(r)
    await session.flush()
    session.info.setdefault(_ADDED, set()).add(r.id)
    return _dto(r)


async def get_or_add(
    session: AsyncSession,
    level: str,
    name: str,
    parent_id: int | None = None,
    code: str | None = None,
) -> RegionDTO:
    parent = Region.parent_id.is_(None) if parent_id is None else Region.parent_id == parent_id
    found = await session.scalar(
        sa.select(Region).where(Region.level == level, Region.name == name, parent)
    )
    return _dto(found) if found else await add(session, level, name, parent_id, code)


async def ancestors(session: AsyncSession, region_id: int) -> list[RegionDTO]:
    """The region itself first, then its parents up to the county."""
    out: list[RegionDTO] = []
    current: int | None = region_id
    while current is not None and len(out) < len(LEVELS) + 1:
        r = await get(session, current)
        if r is None:
            break
        out.append(r)
        current = r.parent_id
    return out


async def county_of(session: AsyncSession, region_id: int) -> RegionDTO | None:
    chain = await ancestors(session, region_id)
    return chain[-1] if chain else None


async def contains(session: AsyncSession, scope_id: int, region_id: int) -> bool:
    """True when ``region_id`` is ``scope_id`` or lies below it."""
    return any(r.id == scope_id for r in await ancestors(session, region_id))


async def village_ids_under(session: AsyncSession, region_id: int) -> list[int]:
    """Every village at or below a region (one query per level; the tree is three deep)."""
    root = await get(session, region_id)
    if root is None:
        return []
    if root.level == "village":
        return [root.id]
    frontier = [root.id]
    villages: list[int] = []
    for _ in range(len(LEVELS)):
        rows = (
            await session.execute(
                sa.select(Region.id, Region.level).where(Region.parent_id.in_(frontier))
            )
        ).all()
        if not rows:
            break
        villages.extend(rid for rid, level in rows if level == "village")
        frontier = [rid for rid, level in rows if level != "village"]
        if not frontier:
            break
    return villages


async def find(session: AsyncSession, name_or_id: str, level: str | None = None) -> list[RegionDTO]:
    """Regions whose id, code or name equals the text (exact first, then containing it)."""
    text = name_or_id.strip()
    query = sa.select(Region)
    if level:
        query = query.where(Region.level == level)
    if text.isdigit():
        r = await session.get(Region, int(text))
        if r is not None and (level is None or r.level == level):
            return [_dto(r)]
    exact = (
        await session.scalars(query.where(sa.or_(Region.name == text, Region.code == text)))
    ).all()
    if exact:
        return [_dto(r) for r in exact]
    like = await session.scalars(
        query.where(Region.name.contains(text)).order_by(Region.id).limit(20)
    )
    return [_dto(r) for r in like]


async def path_name(session: AsyncSession, region_id: int) -> str:
    """``"示范县/东岭镇/石门村"``."""
    return "/".join(r.name for r in reversed(await ancestors(session, region_id)))
