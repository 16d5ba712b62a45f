"""Who may have a region's monthly ledger (走访台账): the one check the chat link, the web
download and the console share.

Township and county staff may have the ledger of their own region or of any region within it;
a village's people (第一书记, 工作队员, 村干部) the ledger of their own village only.
The chat command asks for a link (:func:`ledger_link`); the download route checks the link's
person and region again (:func:`ledger_region`), since a signed link outlives a change of role.
Writing the file is the caller's (bot.reports, off the event loop).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core.errors import Refused
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from services import scope
from storage import audit, regions
from storage.people import PersonDTO
from storage.regions import RegionDTO
from storage.session import AsyncSession

LEDGER_REFUSED = "您无权下载这个台账。"
LEDGER_ROLES = STAFF_ROLES | VILLAGE_ROLES

# (person_id, region_id, month) -> (url, hours the link is valid)
LinkMaker = Callable[..., tuple[str, int]]


@dataclass(frozen=True)
class LedgerLink:
    region: RegionDTO
    month: str
    url: str
    hours: int


async def ledger_region(
    session: AsyncSession, person: PersonDTO | None, region_id: int
) -> RegionDTO:
    """The region whose ledger ``person`` may have; refused for anyone else."""
    if person is None or person.role not in LEDGER_ROLES:
        raise Refused(LEDGER_REFUSED)
    # A village person's scope is their village: no other village, nor the township above.
    if not await scope.can_see(session, person, region_id):
        raise Refused(LEDGER_REFUSED)
    region = await regions.get(session, region_id)
    if region is None:
        raise Refused(LEDGER_REFUSED)
    return region


async def ledger_link(
    session: AsyncSession,
    person: PersonDTO,
    region_id: int,
    month: str,
    now: datetime,
    make_link: LinkMaker,
) -> LedgerLink:
    """A signed download link for the month's ledger of a region, audited."""
    region = await ledger_region(session, person, region_id)
    url, hours = make_link(person_id=person.id, region_id=region.id, month=month)
    await audit.log(
        session,
        at=now,
        person_id=person.id,
        action="report.link",
        obj=f"region:{region.id}",
        detail={"month": month},
    )
    return LedgerLink(region, month, url, hours)
