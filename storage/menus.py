"""The last numbered menu a channel showed a person (see bot/channels/menus.py), kept in the
person's prefs under one key so any process can resolve "2" to that button.

One small query per lookup: this runs for every message WeCom sends.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncSession

from storage import people
from storage.models import Identity, Person


async def lookup(
    session: AsyncSession, channel: str, external_id: str, key: str
) -> tuple[int, dict[str, Any] | None] | None:
    """(person id, the stored menu or None) for this identity; None when it is not bound."""
    row = (
        await session.execute(
            sa.select(Person.id, Person.prefs)
            .join(Identity, Identity.person_id == Person.id)
            .where(Identity.channel == channel, Identity.external_id == external_id)
        )
    ).first()
    if row is None:
        return None
    return row.id, (row.prefs or {}).get(key)


async def store(
    session: AsyncSession, person_id: int, key: str, menu: dict[str, Any] | None
) -> None:
    """Replace the menu (``None`` removes it)."""
    await people.set_prefs(session, person_id, **{key: menu})
