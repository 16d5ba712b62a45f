"""The console's task pages (任务): the tasks that reached the person's villages, paged and
filtered, and one task's villages by status; plus the paged list of households not visited
for a month (the overview's figure behind its link).

A person sees a task when it reached at least one village of their scope, and only those
villages' rows: a township officer follows a county task in their own villages, a secretary
in their village. Any other task id (another county's, another township's only, unknown or
malformed) is answered alike with NotFound.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from core.errors import Invalid, NotFound
from core.statuses import OPEN, TaskKind, TaskStatus
from services import task_texts
from services.console import STALE_DAYS, Paged, Scope, check_page, scoped_region
from storage import regions, task_rows
from storage.people import PersonDTO
from storage.readmodels import console as figures
from storage.readmodels import task_board, task_progress
from storage.readmodels.places import VillagePlace, village_places
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO, TaskDTO

TASK_STATUSES = tuple(s.value for s in TaskStatus)
BAD_STATUS = "状态只能是：进行中、已撤销、已结束。"


@dataclass(frozen=True)
class TaskList:
    scope: Scope
    status: str | None
    items: list[task_board.TaskTally]
    paged: Paged


@dataclass(frozen=True)
class VillageRow:
    item: AssignmentDTO
    town: str
    state: str  # a stored status, or task_board.OVERDUE


@dataclass(frozen=True)
class TaskView:
    task: TaskDTO
    tally: task_board.TaskTally
    rows: list[VillageRow]
    paged: Paged
    # stage -> [(time, villages that reached it then)] over the same villages as the tally
    progress: dict[str, list[tuple[datetime, int]]]


@dataclass(frozen=True)
class StaleList:
    scope: Scope
    items: list[figures.StaleHousehold]
    places: dict[int, VillagePlace]
    paged: Paged
    days: int = STALE_DAYS


async def task_list(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    status: str | None,
    page: int,
    now: datetime,
) -> TaskList:
    if status is not None and status not in TASK_STATUSES:
        raise Invalid(BAD_STATUS, field="status")
    where = await scoped_region(session, me, region_id)
    total = await task_board.count_tasks(session, where.village_ids, status=status)
    paged = Paged(check_page(page), total)
    items = await task_board.task_page(
        session, where.village_ids, now, limit=paged.size, offset=paged.offset, status=status
    )
    return TaskList(where, status, items, paged)


def state_of(item: AssignmentDTO, now: datetime) -> str:
    if item.status in OPEN and item.deadline is not None and item.deadline < now:
        return task_board.OVERDUE
    return item.status


async def task_view(
    session: AsyncSession, me: PersonDTO, number: int, *, page: int, now: datetime
) -> TaskView:
    """Task ``number`` of the person's county (the public number, core.numbers): its villages
    within the person's scope, by status (NotFound if none)."""
    where = await scoped_region(session, me, None)
    county = await regions.county_of(session, me.region_id)
    task = await task_rows.task_by_number(session, county.id, number) if county and number else None
    if task is None or task.kind == TaskKind.RECTIFY:
        raise NotFound(task_texts.NO_SUCH_TASK.format(n=number))
    counts = (await task_board.tallies(session, [task.id], where.village_ids, now))[task.id]
    total = sum(counts.values()) - counts[task_board.OVERDUE]
    if not total:
        raise NotFound(task_texts.NO_SUCH_TASK.format(n=number))
    paged = Paged(check_page(page), total)
    items = await task_board.assignments_in(
        session, task.id, where.village_ids, limit=paged.size, offset=paged.offset
    )
    places = await village_places(session, [i.village_id for i in items])
    rows = [
        VillageRow(
            i, places[i.village_id].town_name if i.village_id in places else "", state_of(i, now)
        )
        for i in items
    ]
    progress = await task_progress.stage_times(session, task.id, where.village_ids)
    return TaskView(task, task_board.TaskTally(task, counts, total), rows, paged, progress)


async def stale_households(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    page: int,
    now: datetime,
) -> StaleList:
    """Households of the region not visited for STALE_DAYS days, a page at a time."""
    where = await scoped_region(session, me, region_id)
    since = now - timedelta(days=STALE_DAYS)
    total = await figures.stale_count(session, where.village_ids, since)
    paged = Paged(check_page(page), total)
    items = await figures.stale_page(
        session, where.village_ids, since, limit=paged.size, offset=paged.offset
    )
    places = await village_places(session, sorted({h.village_id for h in items}))
    return StaleList(where, items, places, paged)
