"""Messages to *other* people: an outbox row written in the caller's transaction, idempotent by
its key (``core.keys``), sent later by the delivery worker."""

from __future__ import annotations

from datetime import datetime

from core.messages import Reply
from core.rules import Rules
from storage import outbox
from storage.session import AsyncSession


async def push(
    session: AsyncSession,
    *,
    to: int,
    reply: Reply,
    key: str,
    now: datetime,
    rules: Rules,
    urgent: bool = True,
    not_before: datetime | None = None,
    respect_quiet_hours: bool = False,
) -> int | None:
    """Queue ``reply`` for person ``to``; ``None`` when a row with ``key`` already exists."""
    at = not_before or now
    if respect_quiet_hours:
        at = rules.after_quiet_hours(at)
    return await outbox.enqueue(
        session,
        recipient_id=to,
        body=reply.to_dict(),
        key=key,
        now=now,
        not_before=at,
        priority=outbox.PRIORITY_REPLY if urgent else outbox.PRIORITY_BULK,
    )
