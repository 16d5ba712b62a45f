"""Photos and locations sent outside a guided visit: which visit they belong to.

A photo is stored once per SHA-256 and belongs to the region of the person who uploaded it
until it is attached. A photo goes to a visit by itself only while exactly one is open for it
(the visit flow, handlers/visit_photos.py); outside a flow the sender is asked which household
it shows (the answer comes back as a button carrying the photo id and a household id, both
re-checked here: a hand-made button for another village's photo or household is refused and
nothing moves), or says 不用了. A location attaches to the sender's visit of the last
PHOTO_WINDOW that has none.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from core.rules import PHOTO_WINDOW, Rules
from services import media, scope
from services import visit_texts as T
from services.visits import (
    PICK_BUTTONS,
    household_for,
    location_flag,
    not_yours,
    require_village,
    still_due,
)
from storage import audit
from storage import households as household_store
from storage import people as people_store
from storage import photos as photo_store
from storage import visits as store
from storage.households import HouseholdDTO
from storage.people import PersonDTO
from storage.photos import PhotoDTO
from storage.session import AsyncSession
from storage.visits import VisitDTO

RECENT_HOUSEHOLDS = 5


@dataclass(frozen=True)
class Attached:
    """The photo (or location) went to this visit."""

    visit: VisitDTO
    household: HouseholdDTO
    flag: str | None = None


@dataclass(frozen=True)
class Seen:
    """The photo was received before and is attached already: nothing to do."""


@dataclass(frozen=True)
class Which:
    """Ask which household the photo shows (no choices: not a village person, or none)."""

    photo_id: int
    households: tuple[HouseholdDTO, ...]


async def add_photo(
    session: AsyncSession,
    person: PersonDTO,
    stored: dict[str, Any] | None,
    *,
    now: datetime,
    rules: Rules,
) -> tuple[int, bool] | None:
    """Store a received photo once (by SHA-256): (photo id, whether new); ``None`` when the
    channel could not read it."""
    if not stored or not stored.get("sha256"):
        return None
    taken = media.exif_local_to_utc(stored.get("taken_at"), rules.timezone)
    photo_id, new = await photo_store.add_photo(
        session, stored, uploaded_by=person.id, now=now, taken_at=taken
    )
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="photo.add",
        obj=f"photo:{photo_id}",
        detail={"sha256": stored["sha256"], "new": new},
    )
    return photo_id, new


async def photo_for_person(session: AsyncSession, person: PersonDTO, photo_id: int) -> PhotoDTO:
    """The photo, if its uploader is the person or lies in the person's scope; an unknown and
    a foreign photo are refused alike."""
    photo = await photo_store.get_photo(session, photo_id)
    if photo is not None and photo.uploaded_by is not None:
        if photo.uploaded_by == person.id:
            return photo
        uploader = await people_store.get(session, photo.uploaded_by)
        if uploader is not None and await scope.can_see(session, person, uploader.region_id):
            return photo
    raise not_yours(person, T.THIS_PHOTO)


async def _attach(
    session: AsyncSession, person: PersonDTO, photo_id: int, visit: VisitDTO, now: datetime
) -> None:
    await photo_store.attach_photos(session, [photo_id], visit.id)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="photo.attach",
        obj=f"visit:{visit.id}",
        detail={"photo": photo_id},
    )


async def _choices(
    session: AsyncSession, person: PersonDTO, now: datetime, rules: Rules
) -> tuple[HouseholdDTO, ...]:
    """Households the person visited lately, then those still due this month."""
    choices = await store.recent_households_of(
        session, person.id, person.region_id, limit=RECENT_HOUSEHOLDS
    )
    seen = {h.id for h in choices}
    for due in await still_due(session, person, now=now, rules=rules):
        if due.household_id not in seen and len(choices) < PICK_BUTTONS:
            found = await household_store.get_household(session, due.household_id)
            if found:
                choices.append(found)
                seen.add(found.id)
    return tuple(choices)


async def place_photo(
    session: AsyncSession,
    person: PersonDTO,
    photo_id: int,
    new: bool,
    *,
    now: datetime,
    rules: Rules,
) -> Seen | Which:
    """A photo sent outside any flow. No visit is open then (a saved one is not: the photo may
    well be the next household's), so nothing is guessed: the sender is asked which household
    it shows, among the latest visited and the next still due, or 不用了."""
    photo = await photo_store.get_photo(session, photo_id)  # just stored: not from a client
    if photo is None or (not new and photo.attached):
        return Seen()
    if person.region_level != "village":
        return Which(photo_id, ())
    return Which(photo_id, await _choices(session, person, now, rules))


async def loose_at_hand(session: AsyncSession, person: PersonDTO, now: datetime) -> list[int]:
    """The person's photos of the last PHOTO_WINDOW that belong to nothing yet (and that they
    did not set aside): a visit started now shows them on its card, to be confirmed with it."""
    return await photo_store.loose_photos(session, person.id, now)


async def drop_loose(
    session: AsyncSession, person: PersonDTO, photo_id: int, *, now: datetime
) -> bool:
    """不用了: the person's own loose photo is set aside (kept, never attached by itself);
    False when it is attached already. Another's or an unknown photo is refused alike."""
    photo = await photo_for_person(session, person, photo_id)
    if photo.uploaded_by != person.id:
        raise not_yours(person, T.THIS_PHOTO)
    if photo.attached:
        return False
    await photo_store.discard(session, photo_id, now)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="photo.discard",
        obj=f"photo:{photo_id}",
        detail={"before": {"visit": None}, "after": {"discarded": True}},
    )
    return True


async def photo_of_household(
    session: AsyncSession, person: PersonDTO, photo_id: int, household_id: int, *, now: datetime
) -> Attached | Seen | HouseholdDTO:
    """The answer to "which household is this photo?" (both ids came from a button): the
    person's visit of that household in REVOKE_WINDOW gets it, else the caller starts a visit
    of the household returned."""
    require_village(person)
    hh = await household_for(session, person, household_id)
    photo = await photo_for_person(session, person, photo_id)
    if photo.attached:
        return Seen()
    recent = await store.recent_visit_of(session, hh.id, now, window=store.REVOKE_WINDOW)
    if recent is not None and recent.visitor_id == person.id:
        await _attach(session, person, photo_id, recent, now)
        return Attached(recent, hh)
    return hh


async def locate(
    session: AsyncSession, person: PersonDTO, lat: float, lon: float, *, now: datetime
) -> Attached | None:
    """A location outside any flow: to the sender's visit of the last PHOTO_WINDOW that has
    none; ``None`` keeps it for the next report (the inbox has it)."""
    recent = await store.last_visit_by(session, person.id, since=now - PHOTO_WINDOW)
    if recent is None or recent.lat is not None:
        return None
    flag = await location_flag(session, recent.village_id, lat, lon)
    updated, _ = await store.amend(session, recent.id, now, lat=lat, lon=lon, location_flag=flag)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="visit.locate",
        obj=f"visit:{recent.id}",
        detail={"lat": lat, "lon": lon, "flag": flag},
    )
    hh = await household_for(session, person, recent.household_id)
    return Attached(updated, hh, flag)
