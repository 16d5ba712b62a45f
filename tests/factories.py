"""Small builders for test data: a county with townships, villages and people."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime

from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage import people, regions
from storage.models import Household
from storage.people import PersonDTO
from storage.regions import RegionDTO


@dataclass
class World:
    county: RegionDTO
    townships: list[RegionDTO] = field(default_factory=list)
    villages: list[RegionDTO] = field(default_factory=list)
    people: dict[str, PersonDTO] = field(default_factory=dict)


async def make_world(
    sm: async_sessionmaker, now: datetime, *, townships: int = 2, villages_per_township: int = 2
) -> World:
    """示范县 with 东岭镇/西川乡, villages 村1..; a secretary per village and two county staff.
    People are keyed ``sec0``, ``sec1``, ... ``county0``, ``county1``, ``town0`` ..."""
    async with sm() as s, s.begin():
        county = await regions.add(s, "county", "示范县", code="C1")
        world = World(county)
        names = ["东岭镇", "西川乡", "南坪镇", "北坡乡"]
        vnames = ["石门村", "柳树村", "杏花村", "河湾村", "青山村", "马家村", "高庄村", "李家村"]
        vi = 0
        for t in range(townships):
            town = await regions.add(s, "township", names[t], county.id)
            world.townships.append(town)
            world.people[f"town{t}"] = await people.add(
                s, name=f"乡干部{t}", role="township_staff", region_id=town.id, now=now
            )
            for _ in range(villages_per_township):
                village = await regions.add(s, "village", vnames[vi], town.id)
                world.villages.append(village)
                world.people[f"sec{vi}"] = await people.add(
                    s,
                    name=f"书记{vi}",
                    role="secretary",
                    region_id=village.id,
                    now=now,
                    phone=f"1380000{vi:04d}",
                )
                vi += 1
        for c in range(2):
            world.people[f"county{c}"] = await people.add(
                s, name=f"县干部{c}", role="county_staff", region_id=county.id, now=now
            )
    return world


async def add_household(
    s: AsyncSession,
    village_id: int,
    code: str,
    head: str,
    category: str,
    now: datetime,
    members: int = 3,
    phone: str | None = None,
) -> Household:
    h = Household(
        code=code,
        village_id=village_id,
        head_name=head,
        category=category,
        members=members,
        phone=phone,
        created_at=now,
        updated_at=now,
    )
    s.add(h)
    await s.flush()
    return h


async def bind(
    sm: async_sessionmaker, person: PersonDTO, channel: str, external_id: str, now: datetime
) -> None:
    """Give a person an identity on a channel without going through chat."""
    async with sm() as s, s.begin():
        invite = await people.create_invite(
            s, role=person.role, region_id=person.region_id, now=now, person_id=person.id
        )
        result = await people.bind(
            s, channel=channel, external_id=external_id, code=invite.code, now=now
        )
        assert result.outcome == "ok"


async def add_county(sm: async_sessionmaker, now: datetime, name: str = "邻县") -> World:
    """A second county (one township 外乡, one village 外村) with a secretary ``sec``, a
    township cadre ``town`` and a county staff member ``county``: the other side of a scope
    test."""
    async with sm() as s, s.begin():
        county = await regions.add(s, "county", name)
        town = await regions.add(s, "township", "外乡", county.id)
        village = await regions.add(s, "village", "外村", town.id)
        world = World(county, [town], [village])
        for key, role, region in (
            ("sec", "secretary", village),
            ("town", "township_staff", town),
            ("county", "county_staff", county),
        ):
            world.people[key] = await people.add(
                s, name=f"{name}{key}", role=role, region_id=region.id, now=now
            )
    return world


def photo_bytes(color: tuple[int, int, int]) -> bytes:
    """A small PNG of one colour: a distinct photo (and SHA-256) per colour."""
    buf = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buf, "PNG")
    return buf.getvalue()
