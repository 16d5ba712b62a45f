"""The month-end visit nudge: from the 25th, each village cadre is reminded once a month of
the households still below their visit quota (``core.keys.visit_nudge`` makes it once)."""

from __future__ import annotations

import logging
from datetime import datetime, time

from core import keys
from core.channel import spread
from core.messages import Reply
from core.rules import Rules
from storage import outbox
from storage.readmodels.recipients import absent_keys, active_with_roles
from storage.session import AsyncSession
from tasks import digest_texts as T
from tasks.digest import MORNING_ROLES, VillageStanding, village_standing

log = logging.getLogger(__name__)

NUDGE_DAY = 25
NUDGE_FROM = time(9, 0)


def nudge_text(standing: VillageStanding) -> str:
    return "\n".join(
        [
            T.NUDGE_HEAD.format(n=standing.coverage.short),
            *T.bullets(standing.short_lines(), T.NUDGE_SHOWN),
            T.NUDGE_FOOT,
        ]
    )


async def enqueue_visit_nudges(session: AsyncSession, now: datetime, rules: Rules) -> int:
    """From the 25th, remind each village cadre once a month of households still due."""
    local = rules.local(now)
    if local.day < NUDGE_DAY or local.time() < NUDGE_FROM:
        return 0
    month = f"{local:%Y-%m}"
    people = await active_with_roles(session, MORNING_ROLES)
    by_key = {keys.visit_nudge(r.person_id, month): r for r in people}
    missing = await absent_keys(session, list(by_key))
    if not missing:
        return 0
    todo = [(key, r) for key, r in by_key.items() if key in missing]
    standing = await village_standing(session, sorted({r.region_id for _, r in todo}), month, rules)
    rows = []
    for key, r in todo:
        s = standing.get(r.region_id)
        if s is None or not s.coverage.short:
            continue
        rows.append(
            {
                "recipient_id": r.person_id,
                "body": Reply(nudge_text(s), meta={"kind": "nudge"}).to_dict(),
                "idempotency_key": key,
                "not_before": spread(key, len(todo), rules.after_quiet_hours(now)),
            }
        )
    return await outbox.enqueue_many(session, rows, now) if rows else 0
