"""The county console's reads: which region a page may show, and the overview (概览).

:func:`scoped_region` is the one scope check of every console page: the region asked for (a
township or village id typed into the URL) must lie within the signed-in person's own region,
checked by services.scope exactly as chat checks it; an unknown id is refused like a foreign
one. The overview's figures come from the read models the digests and ledgers use
(storage.readmodels.coverage, county_day, dead_letters) plus storage.readmodels.console for the
figures only the console shows.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from core import keys
from core.errors import Invalid
from core.roles import Level
from core.rules import Rules
from services import scope
from storage import outbox_lanes, regions
from storage.people import PersonDTO
from storage.readmodels import console as figures
from storage.readmodels import task_board
from storage.readmodels.county_day import overdue_by_village
from storage.readmodels.coverage import Coverage, coverage_by_village, roll_up
from storage.readmodels.dead_letters import DeadLetterCount, dead_letter_counts
from storage.readmodels.places import village_places, villages_of_county
from storage.regions import RegionDTO
from storage.session import AsyncSession

STALE_DAYS = 30
TASKS_SHOWN = 10
NEVER_BOUND_SHOWN = 10
PAGE_SIZE = 20
MAX_PAGE = 10_000
BAD_MONTH = "月份格式不对，请写成 2026-11 这样的年-月。"
BAD_PAGE = "页码不对。"
_MONTH = re.compile(r"(\d{4})-(\d{2})")


@dataclass(frozen=True)
class Paged:
    page: int
    total: int
    size: int = PAGE_SIZE

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.size))

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size


def check_page(page: int) -> int:
    if not 1 <= page <= MAX_PAGE:
        raise Invalid(BAD_PAGE, field="page")
    return page


@dataclass(frozen=True)
class Scope:
    """The region a page shows, its path name, its villages and its county."""

    region: RegionDTO
    path: str
    village_ids: list[int]
    county_id: int


@dataclass(frozen=True)
class Overview:
    scope: Scope
    month: str
    goal: float  # the share of households that should have met their quota by now
    total: Coverage
    towns: list[Coverage]  # worst first
    villages: list[Coverage]  # worst first
    town_of: dict[int, str]  # village id -> township name
    stale: int
    tasks: list[task_board.TaskTally]
    tasks_total: int
    overdue: list[tuple[str, int]]
    problems_by_age: list[tuple[int, int | None, int]]
    pending_questions: int
    dead_letters: list[DeadLetterCount]
    never_bound: int
    never_bound_people: list[figures.Named] = field(default_factory=list)
    # The county's bulk pushes due and waiting, and the threshold over which the delivery
    # worker pauses them (tasks.delivery).
    bulk_waiting: int = 0
    bulk_pause_at: int = 0

    @property
    def dead_total(self) -> int:
        return sum(d.count for d in self.dead_letters)

    @property
    def bulk_paused(self) -> bool:
        return self.bulk_waiting > self.bulk_pause_at


async def scoped_region(session: AsyncSession, me: PersonDTO, region_id: int | None) -> Scope:
    """The region a console page shows: the person's own, or one within it (else Refused)."""
    target = me.region_id if region_id is None else region_id
    await scope.require_scope(session, me, target, "这个地区的数据")
    chain = await regions.ancestors(session, target)  # not empty: require_scope found it
    return Scope(
        chain[0],
        "/".join(r.name for r in reversed(chain)),
        await regions.village_ids_under(session, target),
        chain[-1].id,
    )


def parse_month(raw: str | None, now: datetime, tz: ZoneInfo) -> str:
    """``YYYY-MM`` as given (checked), or the current local month."""
    if not raw:
        return f"{now.astimezone(tz):%Y-%m}"
    m = _MONTH.fullmatch(raw.strip())
    if not m or not (2000 <= int(m[1]) <= 2100 and 1 <= int(m[2]) <= 12):
        raise Invalid(BAD_MONTH, field="month")
    return raw.strip()


def month_goal(month: str, now: datetime, tz: ZoneInfo) -> float:
    """The share of the month gone by: 1.0 for a past month, 0.0 for a future one."""
    year, mon = (int(x) for x in month.split("-"))
    local = now.astimezone(tz)
    if (year, mon) < (local.year, local.month):
        return 1.0
    if (year, mon) > (local.year, local.month):
        return 0.0
    return local.day / calendar.monthrange(year, mon)[1]


def month_bounds(month: str, tz: ZoneInfo) -> tuple[datetime, datetime]:
    year, mon = (int(x) for x in month.split("-"))
    start = datetime(year, mon, 1, tzinfo=tz)
    end = datetime(year + (mon == 12), mon % 12 + 1, 1, tzinfo=tz)
    return start, end


def _worst_first(rows: list[Coverage]) -> list[Coverage]:
    return sorted((c for c in rows if c.households_due), key=lambda c: (c.share, c.name))


async def overview(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    month: str,
    now: datetime,
    rules: Rules,
) -> Overview:
    """The month's figures of a region within the person's scope."""
    where = await scoped_region(session, me, region_id)
    vids = where.village_ids
    places = await village_places(session, vids)
    villages = await coverage_by_village(session, vids, month, rules.quota_policy)
    by_town: dict[int, list[Coverage]] = {}
    for c in villages:
        if c.region_id in places:
            by_town.setdefault(places[c.region_id].town_id, []).append(c)
    towns = [
        roll_up(rows, tid, next(p.town_name for p in places.values() if p.town_id == tid))
        for tid, rows in by_town.items()
    ]
    created = month_bounds(month, rules.timezone)
    return Overview(
        scope=where,
        month=month,
        goal=month_goal(month, now, rules.timezone),
        total=roll_up(villages, where.region.id, where.region.name),
        towns=_worst_first(towns),
        villages=_worst_first(villages),
        town_of={vid: p.town_name for vid, p in places.items()},
        stale=await figures.stale_count(session, vids, now - timedelta(days=STALE_DAYS)),
        tasks=await task_board.task_page(
            session, vids, now, limit=TASKS_SHOWN, offset=0, created=created
        ),
        tasks_total=await task_board.count_tasks(session, vids, created=created),
        overdue=await overdue_by_village(session, where.county_id, places, now),
        problems_by_age=await figures.open_problems_by_age(session, vids, now),
        pending_questions=await figures.pending_questions(
            session, where.county_id, where.region.id
        ),
        dead_letters=await dead_letter_counts(session, where.region.id, created[0]),
        never_bound=await figures.never_bound_count(session, where.region.id),
        never_bound_people=await figures.never_bound(session, where.region.id, NEVER_BOUND_SHOWN),
        bulk_waiting=await outbox_lanes.backlog(session, keys.county_lane(where.county_id), now),
        bulk_pause_at=rules.county_backlog_pause,
    )


async def township_choices(session: AsyncSession, me: PersonDTO) -> list[tuple[int, str]]:
    """(id, name) of the townships a county person may filter by; none below the county."""
    if me.region_level != Level.COUNTY:
        return []
    places = await villages_of_county(session, me.region_id)
    return sorted({(p.town_id, p.town_name) for p in places.values()})
