"""照片: the photos of a visit, and moving one to another household's visit or removing it.

Only people of the visit's own village act on its photos, and every photo id that comes from a
button is re-checked: an unknown photo, another village's and one on no visit are answered
alike. A photo moves only to another active visit of the same village on the same local day;
a removed photo stays stored but belongs to nothing and is never attached by itself again.
Each change is audited with the photo's visit before and after.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta

from core.errors import NotFound
from core.rules import Rules
from services import visit_texts as T
from services.visits import find_household, household_for, require_village
from storage import audit
from storage import photos as photo_store
from storage import visits as store
from storage.households import HouseholdDTO
from storage.people import PersonDTO
from storage.photos import PhotoDTO
from storage.session import AsyncSession
from storage.visits import VisitDTO

MOVE_CHOICES = 8


@dataclass(frozen=True)
class VisitPhotos:
    visit: VisitDTO
    household: HouseholdDTO
    photos: tuple[PhotoDTO, ...]


@dataclass(frozen=True)
class PhotoOnVisit:
    photo: PhotoDTO
    visit: VisitDTO
    household: HouseholdDTO


async def photos_of_visit(session: AsyncSession, person: PersonDTO, query: str) -> VisitPhotos:
    """照片: the person's latest visit; 照片 <户主>: that household's latest visit (own village)."""
    require_village(person)
    if query:
        found = await find_household(session, person, query)
        if len(found.matches) != 1:
            raise NotFound(T.PHOTOS_WHO.format(q=query[:20]))
        hh = found.matches[0]
        visit = await store.last_visit_of(session, hh.id)
        if visit is None:
            raise NotFound(T.NOT_VISITED.format(name=hh.head_name))
    else:
        visit = await store.last_visit_by(session, person.id)
        if visit is None:
            raise NotFound(T.NO_VISIT_YET)
        hh = await household_for(session, person, visit.household_id)
    return VisitPhotos(visit, hh, tuple(await photo_store.of_visit(session, visit.id)))


async def photo_on_visit(session: AsyncSession, person: PersonDTO, photo_id: int) -> PhotoOnVisit:
    """A photo on a visit of the person's own village; anything else is refused alike."""
    require_village(person)
    photo = await photo_store.get_photo(session, photo_id)
    visit = await store.get_visit(session, photo.visit_id) if photo and photo.visit_id else None
    if photo is None or visit is None or visit.village_id != person.region_id:
        raise NotFound(T.PHOTO_UNKNOWN)
    return PhotoOnVisit(photo, visit, await household_for(session, person, visit.household_id))


def _day(at: datetime, rules: Rules) -> tuple[datetime, datetime]:
    start = datetime.combine(rules.local(at).date(), time(0), tzinfo=rules.timezone)
    return start, start + timedelta(days=1)


async def move_targets(
    session: AsyncSession, person: PersonDTO, photo_id: int, *, rules: Rules
) -> tuple[PhotoOnVisit, list[tuple[VisitDTO, str]]]:
    """The photo and the other visits of its village that day it may move to."""
    placed = await photo_on_visit(session, person, photo_id)
    start, end = _day(placed.visit.visited_at, rules)
    others = await store.visits_between(
        session, placed.visit.village_id, start, end, limit=MOVE_CHOICES + 1
    )
    return placed, [(v, name) for v, name in others if v.id != placed.visit.id][:MOVE_CHOICES]


async def move_photo(
    session: AsyncSession,
    person: PersonDTO,
    photo_id: int,
    visit_id: int,
    *,
    now: datetime,
    rules: Rules,
) -> tuple[PhotoOnVisit, VisitDTO, HouseholdDTO]:
    """Move the photo to another visit of its village that day: (was, now on, its household)."""
    placed = await photo_on_visit(session, person, photo_id)
    target = await store.get_visit(session, visit_id)
    start, end = _day(placed.visit.visited_at, rules)
    if (
        target is None
        or target.id == placed.visit.id
        or target.status != "active"
        or target.village_id != placed.visit.village_id
        or not start <= target.visited_at < end
    ):
        raise NotFound(T.MOVE_TARGET_UNKNOWN)
    hh = await household_for(session, person, target.household_id)
    await photo_store.move_to_visit(session, photo_id, target.id)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="photo.move",
        obj=f"photo:{photo_id}",
        detail={
            "before": {"visit": placed.visit.id, "household": placed.household.id},
            "after": {"visit": target.id, "household": hh.id},
        },
    )
    return placed, target, hh


async def remove_photo(
    session: AsyncSession, person: PersonDTO, photo_id: int, *, now: datetime
) -> PhotoOnVisit:
    """Take the photo off its visit (confirmed first by the caller); it stays stored."""
    placed = await photo_on_visit(session, person, photo_id)
    await photo_store.discard(session, photo_id, now)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="photo.remove",
        obj=f"photo:{photo_id}",
        detail={
            "before": {"visit": placed.visit.id, "household": placed.household.id},
            "after": {"visit": None},
        },
    )
    return placed
