"""The demo county (示范县): 3 townships, 12 villages, 600 households, a secretary per village,
a township officer per township (so the console can be tried at both levels) and two county
staff. Deterministic (seeded), and idempotent: running it again finds the same
regions, people and households instead of adding new ones; only the invite codes are new.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import datetime

from storage import households, people, regions
from storage.households import RawRow
from storage.session import AsyncSession

SEED = 20261110
COUNTY = "示范县"
TOWNSHIPS = {
    "东岭镇": ("石门村", "柳树村", "杏花村", "河湾村"),
    "西川乡": ("青山村", "马家村", "高庄村", "李家坪村"),
    "南坪镇": ("桃园村", "龙潭村", "白杨村", "新民村"),
}
HOUSEHOLDS_PER_VILLAGE = 50
COUNTY_STAFF = ("周建国", "林晓燕")
# One per township, in TOWNSHIPS order; given names outside GIVEN, so no secretary shares one.
TOWNSHIP_STAFF = ("郑国华", "吴秀梅", "何立新")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘蒋蔡余杜叶程"
GIVEN = [
    "建国",
    "秀英",
    "志强",
    "桂兰",
    "海燕",
    "明华",
    "玉梅",
    "国庆",
    "春生",
    "淑芬",
    "德福",
    "晓东",
    "金凤",
    "永红",
    "丽娟",
    "长青",
    "文杰",
    "红霞",
    "大山",
    "小平",
    "卫东",
    "秀兰",
    "玉兰",
    "建华",
    "国平",
    "淑珍",
    "志刚",
    "凤英",
    "桂芳",
    "德明",
    "春花",
    "建军",
    "秀珍",
    "永强",
    "海涛",
    "丽华",
    "俊",
    "伟",
    "敏",
    "静",
    "勇",
    "军",
    "芳",
    "磊",
    "强",
    "霞",
    "刚",
    "平",
    "涛",
    "鹏",
    "宇",
    "浩",
    "洋",
    "杰",
    "欣怡",
    "子涵",
    "雨桐",
    "宇轩",
    "梓萱",
    "家豪",
]
# Roughly the mix seen in a county roster after 2020.
CATEGORY_WEIGHTS = {
    "脱贫户": 45,
    "一般户": 20,
    "监测户": 10,
    "边缘易致贫户": 10,
    "脱贫不稳定户": 8,
    "未脱贫户": 7,
}


@dataclass(frozen=True)
class DemoPerson:
    person_id: int
    name: str
    role: str
    region_id: int
    region: str
    region_path: str


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + rng.choice(GIVEN)


def secretary_names() -> list[str]:
    """One distinct name per village, always the same ones."""
    rng = random.Random(SEED)
    names: list[str] = []
    while len(names) < sum(len(v) for v in TOWNSHIPS.values()):
        name = _name(rng)
        if name not in names and name not in COUNTY_STAFF:
            names.append(name)
    return names


def household_rows() -> list[RawRow]:
    """The roster of the demo county, as the importer reads it."""
    rng = random.Random(SEED + 1)
    secretaries = secretary_names()
    categories = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    rows: list[RawRow] = []
    vi = 0
    for town, villages in TOWNSHIPS.items():
        for village in villages:
            for i in range(HOUSEHOLDS_PER_VILLAGE):
                helper = secretaries[vi] if i % 2 == 0 else _name(rng)
                phone = (
                    f"1{rng.choice('3578')}{rng.randrange(10**9):09d}" if rng.random() < 0.8 else ""
                )
                rows.append(
                    RawRow(
                        len(rows) + 2,
                        {
                            "户编号": f"SF{vi + 1:02d}{i + 1:03d}",
                            "户主姓名": _name(rng),
                            "所属乡镇": town,
                            "所属村": village,
                            "户类型": rng.choices(categories, weights)[0],
                            "家庭人口": str(
                                rng.choices((1, 2, 3, 4, 5, 6), (8, 20, 25, 25, 14, 8))[0]
                            ),
                            "帮扶责任人": helper,
                            "联系电话": phone,
                        },
                    )
                )
            vi += 1
    return rows


async def _person(
    session: AsyncSession, name: str, role: str, region_id: int, now: datetime
) -> int:
    found = await people.id_of(session, name=name, role=role, region_id=region_id)
    if found is not None:
        return found
    return (await people.add(session, name=name, role=role, region_id=region_id, now=now)).id


async def seed(session: AsyncSession, now: datetime) -> list[DemoPerson]:
    """Create (or find) the demo county and its people and households."""
    county = await regions.get_or_add(session, "county", COUNTY)
    secretaries = iter(secretary_names())
    out: list[DemoPerson] = []
    for town_name, villages in TOWNSHIPS.items():
        town = await regions.get_or_add(session, "township", town_name, county.id)
        for village_name in villages:
            village = await regions.get_or_add(session, "village", village_name, town.id)
            name = next(secretaries)
            pid = await _person(session, name, "secretary", village.id, now)
            path = f"{COUNTY}/{town_name}/{village_name}"
            out.append(DemoPerson(pid, name, "secretary", village.id, village_name, path))
    for name in COUNTY_STAFF:
        pid = await _person(session, name, "county_staff", county.id, now)
        out.append(DemoPerson(pid, name, "county_staff", county.id, COUNTY, COUNTY))
    for name, town_name in zip(TOWNSHIP_STAFF, TOWNSHIPS, strict=True):
        town = await regions.get_or_add(session, "township", town_name, county.id)
        pid = await _person(session, name, "township_staff", town.id, now)
        out.append(
            DemoPerson(pid, name, "township_staff", town.id, town_name, f"{COUNTY}/{town_name}")
        )
    report = await households.import_rows(session, household_rows(), now)
    if not report.ok:  # the generator and the importer disagree: a bug, not user input
        raise RuntimeError("demo roster rejected: " + "; ".join(map(str, report.errors[:5])))
    return out
