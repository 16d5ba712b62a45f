"""Recovery: inbox rows that were received but never handled (the process stopped in
between, or its background handling is stuck) are picked up by a sweep that runs every few
seconds in every process, for rows older than a few seconds.

Any number of processes may sweep at once: handling claims the row with a conditional update
(``storage.inbox.claim``), so exactly one of them handles it; the others skip it. Rows are
handled one at a time in id order, through the inbound flow's own ``handle`` (which holds the
sender's lock), so a person's messages keep their order. Nobody waits on a socket for these
replies: they go to the outbox, in the message's transaction, and the delivery worker sends
them on the message's channel.
"""

from __future__ import annotations

import asyncio
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

SWEEP_EVERY = 3.0  # seconds between sweeps
SWEEP_AGE = timedelta(seconds=5)  # a row younger than this is still being handled normally


async def recover(
    sessionmaker: async_sessionmaker, clock: Clock, handle: Handle, older_than: timedelta
) -> int:
    """Handle every unhandled row older than ``older_than`` with ``handle`` (the inbound
    flow's own, so per-sender order holds); returns how many rows this call handled."""
    count = 0
    after_id = 0

    async def queue(
        session: AsyncSession, incoming: Incoming, replies: list[Reply], person: PersonDTO | None
    ) -> None:
        await queue_replies(session, clock, incoming, replies, person)

    while True:
        async with sessionmaker() as session:
            rows = await inbox.unhandled(session, clock.now() - older_than, after_id=after_id)
        for row in rows:
            if await handle(row.id, Incoming.from_dict(row.payload), queue) is not None:
                count += 1
        if len(rows) < inbox.UNHANDLED_BATCH:
            return count
        after_id = rows[-1].id


async def sweep_forever(
    sessionmaker: async_sessionmaker,
    clock: Clock,
    handle: Handle,
    *,
    every: float = SWEEP_EVERY,
    older_than: timedelta = SWEEP_AGE,
) -> None:
    """Run :func:`recover` every ``every`` seconds until cancelled; a failed sweep (the
    database away) is logged and the next one tries again."""
    while True:
        try:
            recovered = await recover(sessionmaker, clock, handle, older_than)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.warning("inbox sweep failed", exc_info=True)
        else:
            if recovered:
                log.info("recovered %d unhandled inbox messages", recovered)
        await asyncio.sleep(every)


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
