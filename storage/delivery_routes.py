"""Where the delivery worker can reach each recipient: their working channel identities.

One query for a whole claimed batch. The worker decides which identity to use (its own channel
first, then the configured push channel, then the one used last); this module only says which
identities exist, most recently seen first, with the channel the person last wrote from.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Identity, Person


@dataclass(frozen=True, slots=True)
class Reachable:
    """One working identity of a person, as the delivery worker needs it."""

    channel: str
    external_id: str
    last_channel: str | None


async def reachable(
    session: AsyncSession, person_ids: Collection[int]
) -> dict[int, list[Reachable]]:
    """Each person's identities with status ``ok``, most recently seen (then newest) first."""
    rows = await session.execute(
        sa.select(
            Identity.person_id,
            Identity.channel,
            Identity.external_id,
            Person.last_channel,
        )
        .join(Person, Person.id == Identity.person_id)
        .where(Identity.person_id.in_(list(person_ids)), Identity.status == "ok")
        .order_by(Identity.last_seen_at.desc().nulls_last(), Identity.id.desc())
    )
    out: dict[int, list[Reachable]] = {}
    for pid, channel, external_id, last in rows:
        out.setdefault(pid, []).append(Reachable(channel, external_id, last))
    return out
