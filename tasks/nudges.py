"""The month-end visit nudge: from the 25th, each village cadre is reminded once a month of
the households still below their visit quota (``core.keys.visit_nudge`` makes it once).

Like the digests (``tasks.digest``), a tick reads only the cadres whose next look has come
(``people.nudge_next_at``), in chunks of person ids that two schedulers split; a cadre whose
village has nobody short is looked at again an hour later, not each minute."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, time, timedelta

from core import keys
from core.channel import spread
from core.messages import Reply
from core.rules import Rules
from storage import digest_due
from storage.session import AsyncSession
from tasks import digest_texts as T
from tasks.digest import Pending, VillageStanding, village_standing

log = logging.getLogger(__name__)

NUDGE_DAY = 25
NUDGE_FROM = time(9, 0)
# A cadre whose village has nobody short is looked at again this much later (the village may
# fall short later in the month: a household added, a visit revoked).
RECHECK = timedelta(hours=1)


def nudge_text(standing: VillageStanding) -> str:
    return "\n".join(
        [
            T.NUDGE_HEAD.format(n=standing.coverage.short),
            *T.bullets(standing.short_lines(), T.NUDGE_SHOWN),
            T.NUDGE_FOOT,
        ]
    )


def _next_month_start(now: datetime, rules: Rules) -> datetime:
    """When the next month's nudge may go: its 25th at NUDGE_FROM, local time."""
    local = rules.local(now)
    first = (local.replace(day=1) + timedelta(days=32)).replace(day=NUDGE_DAY)
    return datetime.combine(first.date(), NUDGE_FROM, tzinfo=rules.timezone).astimezone(UTC)


async def pending(session: AsyncSession, now: datetime, rules: Rules) -> Pending:
    """The cadres the nudge must look at now: from the 25th, those not settled this month
    (``people.nudge_next_at``, through its partial index), not every cadre each minute."""
    local = rules.local(now)
    if local.day < NUDGE_DAY or local.time() < NUDGE_FROM:
        return Pending("nudge", [])
    return Pending("nudge", await digest_due.due_ids(session, "nudge", now))


async def enqueue_chunk(
    session: AsyncSession, todo: Pending, chunk: tuple[int, list[int]], now: datetime, rules: Rules
) -> int:
    """Nudge this chunk's cadres whose village has households still short (one transaction;
    nothing when another scheduler holds the chunk). A cadre nudged this month is looked at
    again next month; one whose village has nobody short, in an hour."""
    number, ids = chunk
    if not await digest_due.take_chunk(session, "nudge", number):
        return 0
    people = await digest_due.claim(session, "nudge", ids, now)
    if not people:
        return 0
    month = f"{rules.local(now):%Y-%m}"
    standing = await village_standing(session, sorted({r.region_id for r in people}), month, rules)
    start = rules.after_quiet_hours(now)
    texts: dict[int, str] = {}
    rows = []
    moves: dict[datetime, list[int]] = {}
    for r in people:
        s = standing.get(r.region_id)
        if s is None or not s.coverage.short:
            moves.setdefault(now + RECHECK, []).append(r.person_id)
            continue
        moves.setdefault(_next_month_start(now, rules), []).append(r.person_id)
        if r.region_id not in texts:
            texts[r.region_id] = Reply(nudge_text(s), meta={"kind": "nudge"}).text
        key = keys.visit_nudge(r.person_id, month)
        rows.append(
            {
                "recipient_id": r.person_id,
                "body": {"text": texts[r.region_id], "meta": {"kind": "nudge"}},
                "idempotency_key": key,
                "not_before": spread(key, todo.count, start),
            }
        )
    await digest_due.set_next(session, "nudge", moves)
    return await digest_due.enqueue(session, rows, now)


async def enqueue_visit_nudges(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """From the 25th, remind each village cadre once a month of households still due (in this
    one transaction; the scheduler commits chunk by chunk)."""
    todo = await pending(session, now, rules)
    return sum([await enqueue_chunk(session, todo, c, now, rules) for c in todo.chunks()])
