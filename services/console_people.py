"""The console's people page (人员): who is in the person's region, a page at a time, filtered by
village, role and 从未绑定; one person with what may be done to them; the choices of the
invite form; one invite code.

Scope: the region shown comes from services.console.scoped_region (the one check of every
console page); one person or code from services.people_admin (another region's is NotFound,
like an unknown one). Village cadres see their own village, read only. The changes themselves
are services.people_admin's.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from core.errors import Invalid
from core.roles import MANAGES, ROLE_LEVEL, ROLE_ZH, ROLES, STAFF_ROLES, Level, Role
from services import people_admin
from services.console import Paged, Scope, check_page, scoped_region
from storage import regions
from storage.people import PersonDTO
from storage.readmodels import people_list as listing
from storage.readmodels.people_list import PendingInvite, PersonRow, Place
from storage.session import AsyncSession

LOOSE_SHOWN = 20
BAD_ROLE = "身份只能从列表中选择。"


@dataclass(frozen=True)
class PeopleList:
    scope: Scope
    role: str | None
    never_bound: bool
    rows: list[PersonRow]
    paged: Paged
    villages: list[Place]  # the village filter's choices (the person's whole scope)
    roles: list[tuple[str, str]]  # the role filter's choices
    manager: bool  # the viewer may invite and manage (and see codes)
    managed: frozenset[str]  # the roles whose codes and people the viewer manages
    loose: list[PendingInvite]  # unused codes made for nobody yet
    loose_total: int


@dataclass(frozen=True)
class PersonView:
    row: PersonRow
    manage: bool  # the viewer may act on this person
    villages: list[Place]  # where a village cadre may be moved


@dataclass(frozen=True)
class InviteChoices:
    roles: list[tuple[str, str]]
    places: list[Place]  # villages, townships and the county within the viewer's region


@dataclass(frozen=True)
class InviteView:
    invite: PendingInvite
    place: str
    state: str  # pending | used | expired


def role_choices(me: PersonDTO) -> list[tuple[str, str]]:
    return [(r.value, ROLE_ZH[r]) for r in Role if r in MANAGES.get(me.role, frozenset())]


def _villages(places: list[Place]) -> list[Place]:
    return [p for p in places if p.level == Level.VILLAGE]


async def people_page(
    session: AsyncSession,
    me: PersonDTO,
    *,
    region_id: int | None,
    role: str | None,
    never_bound: bool,
    page: int,
    now: datetime,
) -> PeopleList:
    if role is not None and role not in ROLES:
        raise Invalid(BAD_ROLE, field="role")
    where = await scoped_region(session, me, region_id)
    shown = await listing.places_within(session, where.region.id)
    f = listing.Filter([p.id for p in shown], role, never_bound)
    paged = Paged(check_page(page), await listing.count(session, f))
    rows = await listing.page(session, f, now=now, limit=paged.size, offset=paged.offset)
    mine = shown if region_id is None else await listing.places_within(session, me.region_id)
    manager = me.role in STAFF_ROLES
    managed = frozenset(MANAGES.get(me.role, frozenset()))
    loose, loose_total = await listing.loose_invites(
        session, [p.id for p in shown], sorted(managed), now, LOOSE_SHOWN
    )
    return PeopleList(
        where,
        role,
        never_bound,
        rows,
        paged,
        _villages(mine),
        [(r.value, ROLE_ZH[r]) for r in Role],
        manager,
        managed,
        loose,
        loose_total,
    )


async def person_view(
    session: AsyncSession, me: PersonDTO, person_id: int, *, now: datetime
) -> PersonView:
    person = await people_admin.person_in_scope(session, me, person_id)
    [row] = await listing.page(
        session, listing.Filter([person.region_id], person_id=person.id), now=now, limit=1, offset=0
    )
    manage = (
        me.role in STAFF_ROLES
        and person.role in MANAGES.get(me.role, frozenset())
        and person.id != me.id
    )
    villages = _villages(await listing.places_within(session, me.region_id)) if manage else []
    return PersonView(row, manage, villages)


async def invite_choices(session: AsyncSession, me: PersonDTO) -> InviteChoices:
    """What the invite form offers: the roles ``me`` manages and the places of their region at
    the levels those roles work at (the service checks both again)."""
    roles = role_choices(me)
    levels = {ROLE_LEVEL[Role(r)] for r, _ in roles}
    places = [p for p in await listing.places_within(session, me.region_id) if p.level in levels]
    return InviteChoices(roles, places)


async def invite_view(
    session: AsyncSession, me: PersonDTO, code: str, *, now: datetime
) -> InviteView:
    found = await people_admin.invite_in_scope(session, me, code)
    place = await regions.path_name(session, found.region_id)
    state = "used" if found.used else ("expired" if found.expires_at <= now else "pending")
    return InviteView(found, place, state)
