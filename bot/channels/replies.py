"""Sending a handler's replies straight back on the channel the message came from.

Replies go out at once (the person is waiting), within the channel's limits where it drops
the excess silently (WeCom); one over the limit or refused for now (rate limit, network) is
put in the outbox with a key derived from the message id, so the delivery worker
retries it under the channel's limits and a second attempt can never send it twice.

A channel that acknowledged the message before handling it (WeCom answers its server once
the inbox row is stored) cannot rely on its server resending: its replies are written to the
outbox *in the handling transaction* (:class:`QueueReplies`, an after-hook), due a few
seconds later, and this fast path sends each one and then marks it sent. A process that dies
before the mark leaves the row to the delivery worker, which sends it when due: a reply is
never lost; it is sent twice only if the process dies between the channel's receipt and the
mark's commit (at-least-once, like the worker; marking before the send would lose the replies
whose request was in flight instead). Under load the send slots (shared rate windows) and the
marks are group-committed (:class:`FastPath`): replies ready while one is being written share
the next transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import timedelta

from aiohttp import web

from bot.appkeys import CLOCK, GATES, SESSIONMAKER
from bot.channels.batch import Batched
from bot.inbound import AfterHook
from core import keys
from core.channel import Sender
from core.clock import Clock
from core.messages import Incoming, Reply
from storage import outbox
from storage import people as people_store
from storage.db import lone_statements_autocommit
from storage.people import PersonDTO
from storage.session import AsyncSession, async_sessionmaker
from tasks.gates import ChannelGates

log = logging.getLogger(__name__)

DEFAULT_RETRY = 5.0  # seconds, when the channel did not say how long to wait
# How long the delivery worker leaves a reply queued by the handling transaction to the fast
# path; after that (the process died before sending) the worker sends it.
FAST_PATH_GRACE = timedelta(seconds=10)


class QueueReplies:
    """An after-hook: the replies as outbox rows to the sender, in the message's transaction,
    due after :data:`FAST_PATH_GRACE`. ``ids`` are the rows (``None`` where the key was
    queued already, e.g. by the inbox sweep); empty for an unbound sender, who has no outbox
    (those replies are sent directly, as before)."""

    def __init__(self, app: web.Application, then: AfterHook | None = None) -> None:
        self.app = app
        self.then = then
        self.ids: list[int | None] = []

    async def __call__(
        self,
        session: AsyncSession,
        incoming: Incoming,
        replies: list[Reply],
        person: PersonDTO | None,
    ) -> None:
        if self.then is not None:
            await self.then(session, incoming, replies, person)
        self.ids = []  # called again after a refusal, in the second transaction
        if person is None:  # after a refusal
            person = await people_store.by_identity(session, incoming.channel, incoming.sender_id)
        if person is None:
            return
        now = self.app[CLOCK].now()
        for index, reply in enumerate(replies):
            row = await outbox.enqueue(
                session,
                recipient_id=person.id,
                body=reply.to_dict(),
                key=keys.reply(incoming.channel, incoming.message_id, index),
                now=now,
                not_before=now + FAST_PATH_GRACE,
                priority=outbox.PRIORITY_REPLY,
                channel=incoming.channel,
            )
            self.ids.append(row)


class SentMarks:
    """Group commit of the fast path's "sent" marks (bot.channels.batch): a reply sent while
    a mark is being written joins the next transaction, where one statement marks the whole
    batch (on PostgreSQL reached directly, that statement alone in autocommit). Each caller
    returns once its own mark is committed, as with a transaction of its own."""

    def __init__(self, sessionmaker: async_sessionmaker, clock: Clock) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self._batched: Batched[tuple[int, str], None] = Batched(self._write, "sent-marks")
        # One statement (one channel, the usual case) needs no BEGIN and COMMIT around it.
        self._autocommit = lone_statements_autocommit(sessionmaker)

    async def mark(self, row: int, channel: str) -> None:
        await self._batched.submit((row, channel))

    async def _write(self, batch: list[tuple[int, str]]) -> list[None]:
        by_channel: dict[str, list[int]] = {}
        for row, channel in batch:
            by_channel.setdefault(channel, []).append(row)
        async with self.sessionmaker() as session:
            if self._autocommit and len(by_channel) == 1:
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            now = self.clock.now()
            for channel, rows in by_channel.items():  # one statement per channel (mostly one)
                marked = await outbox.mark_many_sent_if_pending(session, rows, now, channel)
                for row in rows:
                    if row not in marked:
                        log.warning("reply sent by the worker as well outbox=%s", row)
            await session.commit()
        return [None] * len(batch)


class Reservations:
    """The channel's send slots for replies (per-member limits), group-committed: on
    PostgreSQL the rate windows are shared rows, and reserving slots for replies that are
    ready together takes one transaction (``ChannelGates.reserve_many``, in order) instead of
    one each. Pauses and the circuit breaker are checked first, in memory, as
    ``ChannelGates.reserve`` does."""

    def __init__(self, gates: ChannelGates, clock: Clock) -> None:
        self.gates = gates
        self.clock = clock
        self._batched: Batched[tuple[Sender, str], timedelta] = Batched(self._write, "reply-slots")

    async def reserve(self, sender: Sender, external_id: str) -> timedelta:
        now = self.clock.now()
        wait = self.gates.paused(sender.name, now)
        if wait > timedelta(0):
            return wait
        held = self.gates.breaker.holds(sender.name, now)
        if held > timedelta(0):
            return held
        if not self.gates.shared:  # windows in this process's memory: nothing to commit
            return (await self.gates.reserve_many([(sender, external_id)], now))[0]
        return await self._batched.submit((sender, external_id))

    async def _write(self, batch: list[tuple[Sender, str]]) -> list[timedelta]:
        return await self.gates.reserve_many(batch, self.clock.now())


class FastPath:
    """What a channel that acknowledges before handling keeps for its replies' fast path."""

    def __init__(self, app: web.Application) -> None:
        self.marks = SentMarks(app[SESSIONMAKER], app[CLOCK])
        self.slots = Reservations(app[GATES], app[CLOCK])


async def send_replies(
    app: web.Application,
    sender: Sender,
    incoming: Incoming,
    replies: list[Reply],
    queued: Sequence[int | None] = (),
    fast: FastPath | None = None,
) -> None:
    """Send ``replies`` now; ``queued``: their outbox rows (:class:`QueueReplies`), marked
    sent when sent, or left to the delivery worker (with the channel's wait) when not.
    ``fast``: the channel's group commit of send slots and sent marks (else a transaction
    each)."""
    gates = app[GATES]
    for index, reply in enumerate(replies):
        row = queued[index] if index < len(queued) else None
        if sender.limits.replies_too:
            wait = (
                await fast.slots.reserve(sender, incoming.sender_id)
                if fast is not None
                else await gates.reserve(sender, incoming.sender_id, app[CLOCK].now())
            )
            if wait > timedelta(0):  # over the channel's limit: the outbox sends it later
                await _queue(app, incoming, index, reply, wait.total_seconds(), row)
                continue
        result = await sender.send(incoming.sender_id, reply.to_dict())
        if result.ok:
            if row is not None and fast is not None:
                await fast.marks.mark(row, sender.name)
            elif row is not None:
                await _mark_sent(app, row, sender.name)
            continue
        if result.permanent:
            await _undeliverable(app, incoming, [r for r in queued[index:] if r is not None])
            return
        await _queue(app, incoming, index, reply, result.retry_after, row)


async def _mark_sent(app: web.Application, row: int, channel: str) -> None:
    async with app[SESSIONMAKER]() as session, session.begin():
        if not await outbox.mark_sent_if_pending(session, row, app[CLOCK].now(), channel):
            log.warning("reply sent by the worker as well outbox=%s", row)


async def _undeliverable(app: web.Application, incoming: Incoming, rows: list[int]) -> None:
    # As the delivery worker does: pushes stop going to this identity, and county staff
    # see it in the digest, until the person writes again (which sets it back to ok).
    log.warning("reply undeliverable channel=%s msg=%s", incoming.channel, incoming.message_id)
    async with app[SESSIONMAKER]() as session, session.begin():
        await people_store.set_identity_status(
            session, incoming.channel, incoming.sender_id, "blocked"
        )
        for row in rows:
            await outbox.mark_final(session, row, "undeliverable", "channel refused the reply")


async def _queue(
    app: web.Application,
    incoming: Incoming,
    index: int,
    reply: Reply,
    retry_after: float | None,
    row: int | None = None,
) -> None:
    now = app[CLOCK].now()
    retry_at = now + timedelta(seconds=retry_after or DEFAULT_RETRY)
    async with app[SESSIONMAKER]() as session, session.begin():
        if row is not None:  # already in the outbox: when the worker may send it
            await outbox.mark_retry(session, row, "held back on the fast path", retry_at)
            log.info(
                "reply left to the outbox channel=%s msg=%s", incoming.channel, incoming.message_id
            )
            return
        person = await people_store.by_identity(session, incoming.channel, incoming.sender_id)
        if person is None:
            log.warning(
                "reply lost (unbound sender) channel=%s msg=%s",
                incoming.channel,
                incoming.message_id,
            )
            return
        await outbox.enqueue(
            session,
            recipient_id=person.id,
            body=reply.to_dict(),
            key=keys.reply(incoming.channel, incoming.message_id, index),
            now=now,
            not_before=retry_at,
            priority=outbox.PRIORITY_REPLY,
            channel=incoming.channel,
        )
    log.info("reply queued for retry channel=%s msg=%s", incoming.channel, incoming.message_id)
