"""What the free-text router (handlers/intent.py) needs to know about the sender, scoped to
them: the households of their own village (to see a visit report that names one), and the
push a typed 收到 would answer (their latest task-like push, sent recently, not yet
acknowledged, about an item still open).

Acknowledging itself is ``services.task_work.ack``, the use case of the 收到 button.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from core import keys
from core.roles import VILLAGE_ROLES
from core.statuses import OPEN
from storage import household_search, push_receipts
from storage import tasks as task_store
from storage.household_search import HouseholdName
from storage.people import PersonDTO
from storage.session import AsyncSession
from storage.tasks import AssignmentDTO

# A push older than this is not what a 收到 answers (a task sent on Friday evening is still
# answered on Monday morning).
RECENT_PUSH = timedelta(hours=72)


async def own_households(session: AsyncSession, person: PersonDTO) -> list[HouseholdName]:
    """The households of the person's village; none for anyone who records no visits."""
    if person.region_level != "village" or person.role not in VILLAGE_ROLES:
        return []
    return await household_search.village_names(session, person.region_id)


async def latest_push(
    session: AsyncSession, person: PersonDTO, *, now: datetime
) -> AssignmentDTO | None:
    """The item of the person's newest task-like push of the last RECENT_PUSH when that push
    asks for a 收到 (a task, a notice, a reminder, a return), is not acknowledged yet, and the
    item is theirs and still open. Only the newest counts: a 收到 after an approval or after
    an acknowledged push answers nothing older."""
    newest = await push_receipts.newest_sent(session, person.id, now - RECENT_PUSH)
    if newest is None or newest[1]:
        return None
    aid = keys.acknowledges(newest[0])
    if aid is None:
        return None
    item = await task_store.get_assignment(session, aid)
    if item is None or item.assignee_id != person.id or item.status not in OPEN:
        return None
    return item
