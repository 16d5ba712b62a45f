"""Who may have a region's monthly ledger (走访台账): the one check the chat's 导出, the
console's export request and its download share.

Township and county staff may have the ledger of their own region or of any region within it;
a village's people (第一书记, 工作队员, 村干部) the ledger of their own village only.
The console checks again at download (:func:`ledger_region`), since a role may change
between the request and the download. Writing the file is the caller's (bot.reports, off the
event loop, in a background job: services.jobs).
"""

from __future__ import annotations

from core.errors import Refused
from core.roles import STAFF_ROLES, VILLAGE_ROLES
from services import scope
from storage import regions
from storage.people import PersonDTO
from storage.regions import RegionDTO
from storage.session import AsyncSession

LEDGER_REFUSED = "您无权下载这个台账。"
LEDGER_ROLES = STAFF_ROLES | VILLAGE_ROLES


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
