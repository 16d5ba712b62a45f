"""A person's own digest settings (设置 早报 08:00 / 关 / 开): written with an audit row."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from storage import audit
from storage import people as people_store
from storage.people import PersonDTO
from storage.session import AsyncSession

Digest = Literal["morning", "evening"]


async def set_digest(
    session: AsyncSession,
    me: PersonDTO,
    kind: Digest,
    *,
    now: datetime,
    on: bool = True,
    at: str | None = None,
) -> dict[str, Any]:
    """Turn the person's ``kind`` digest on or off, or move it to ``at`` (HH:MM, which also
    turns it on); their prefs as they now are."""
    changes: dict[str, Any] = {f"{kind}_digest_off": None if on else True}
    if at is not None:
        changes[f"{kind}_digest"] = at
    prefs = await people_store.set_prefs(session, me.id, **changes)
    await audit.log(
        session,
        at=now,
        person_id=me.id,
        action="settings.digest",
        obj=f"person:{me.id}",
        detail={"digest": kind, "on": on, "at": at},
    )
    return prefs
