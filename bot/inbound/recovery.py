"""Recovery: inbox rows that were received but never handled (the process stopped in
between) are handled at start-up. Nobody waits on a socket for these replies: they go to the
outbox, in the message's transaction, and the delivery worker sends them on the message's
channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from bot.inbound.unit import AfterHook
from core import keys
from core.clock import Clock
from core.messages import Incoming, Reply
from storage import inbox, outbox
from storage import people as people_store
from storage.people import PersonDTO
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

Handle = Callable[[int, Incoming, AfterHook], Awaitable[object]]


async def recover(
    sessionmaker: async_sessionmaker, clock: Clock, handle: Handle, older_than: timedelta
) -> int:
    """Handle every unhandled row older than ``older_than`` with ``handle`` (the inbound
    flow's own, so per-sender order holds); returns how many there were."""
    count = 0

    async def queue(
        session: AsyncSession, incoming: Incoming, replies: list[Reply], person: PersonDTO | None
    ) -> None:
        await queue_replies(session, clock, incoming, replies, person)

    while True:
        async with sessionmaker() as session:
            rows = await inbox.unhandled(session, clock.now() - older_than)
        for row in rows:
            await handle(row.id, Incoming.from_dict(row.payload), queue)
        count += len(rows)
        if len(rows) < inbox.UNHANDLED_BATCH:
            return count


async def queue_replies(
    session: AsyncSession,
    clock: Clock,
    incoming: Incoming,
    replies: list[Reply],
    person: PersonDTO | None,
) -> None:
    """Recovery's hook: the replies as pushes to the sender, on the channel they wrote on."""
    if person is None:  # after a refusal
        person = await people_store.by_identity(session, incoming.channel, incoming.sender_id)
    if person is None:
        log.warning("reply to a recovered message lost (unbound) msg=%s", incoming.message_id)
        return
    for index, reply in enumerate(replies):
        await outbox.enqueue(
            session,
            recipient_id=person.id,
            body=reply.to_dict(),
            key=keys.reply(incoming.channel, incoming.message_id, index),
            now=clock.now(),
            priority=outbox.PRIORITY_REPLY,
            channel=incoming.channel,
        )
