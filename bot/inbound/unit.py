"""One message, one unit of work: inbox row (or claim) -> router -> handler -> channel hook,
committed together.

A refusal (``core.errors.DomainError``) or a handler that raises rolls all of it back, handler
writes included; the message is then marked handled in a second, small transaction (with the
refusal, or a short apology and the error) so a channel's retry stays a no-op.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from bot.inbound.recorder import record
from core.clock import Clock
from core.errors import DomainError
from core.messages import Incoming, Reply
from core.rules import Rules
from handlers import texts
from handlers.context import Context, Services
from handlers.registry import Registry
from handlers.router import dispatch
from services import audit_refusals
from storage import inbound_tx, inbox
from storage import people as people_store
from storage.people import Author, PersonDTO
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

# Called inside the message's transaction with the replies, so a channel can keep its own
# record of the exchange (the web chat history) atomically with the handler's writes. It gets
# the sender as the handler left them (``None`` when unbound, or unknown after a refusal).
AfterHook = Callable[[AsyncSession, Incoming, list[Reply], PersonDTO | None], Awaitable[None]]


class Unit:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        registry: Registry,
        services: Services,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.registry = registry
        self.services = services
        # PostgreSQL: the message's transaction in three round trips (storage.inbound_tx).
        self.lanes = inbound_tx.Lanes(sessionmaker) if inbound_tx.supported(sessionmaker) else None

    async def run(
        self, incoming: Incoming, inbox_id: int | None, after: AfterHook | None
    ) -> list[Reply] | None:
        """Handle the message (``inbox_id``: already in the inbox, claim it; else record it);
        ``None`` for a duplicate or a row another worker claimed."""
        try:
            if self.lanes is not None:
                return await self._run_fast(self.lanes, incoming, inbox_id, after)
            async with self.sessionmaker() as session, session.begin():
                handled = await self._dispatch(session, incoming, inbox_id)
                if handled is None:
                    return None
                replies, person = handled
                if after is not None:
                    await after(session, incoming, replies, person)
                return replies
        except DomainError as refusal:
            replies = [Reply(refusal.message)]
            await self._mark_handled(incoming, inbox_id, None, replies, after)
            await audit_refusals.chat(self.sessionmaker, incoming, refusal, self.clock.now())
            return replies
        except Exception as exc:
            log.exception("handler failed channel=%s msg=%s", incoming.channel, incoming.message_id)
            replies = [Reply(texts.INTERNAL_ERROR)]
            await self._mark_handled(incoming, inbox_id, repr(exc), replies, after)
            return replies

    async def _run_fast(
        self,
        lanes: inbound_tx.Lanes,
        incoming: Incoming,
        inbox_id: int | None,
        after: AfterHook | None,
    ) -> list[Reply] | None:
        """:meth:`run`'s transaction on PostgreSQL: the sender's lock with the BEGIN, the inbox
        row and the sender in one statement, the channel's rows with the COMMIT."""
        channel, sender_id = incoming.channel, incoming.sender_id
        async with inbound_tx.transaction(lanes, channel, sender_id) as tx:
            now = self.clock.now()
            if inbox_id is None:
                new, author = await tx.record_with_sender(
                    channel=channel,
                    message_id=incoming.message_id,
                    sender_id=sender_id,
                    payload=incoming.to_dict(),
                    now=now,
                )
                if new is None:
                    _log_duplicate(incoming)
                    return None
            else:
                claimed, author = await tx.claim_with_sender(
                    inbox_id=inbox_id, channel=channel, sender_id=sender_id, now=now
                )
                if not claimed:
                    return None
            replies, person = await self._route(tx.session, incoming, author)
            if after is not None:
                await after(tx.session, incoming, replies, person)
            await tx.commit()
            return replies

    async def _dispatch(
        self, session: AsyncSession, incoming: Incoming, inbox_id: int | None
    ) -> tuple[list[Reply], PersonDTO | None] | None:
        now = self.clock.now()
        # The ORM path, for SQLite (one writer at a time: no lock to take); PostgreSQL takes
        # :meth:`_run_fast`, which locks the sender in the BEGIN round trip.
        if inbox_id is None:
            if await record(session, incoming, now, handled=True) is None:
                _log_duplicate(incoming)
                return None
        elif not await inbox.claim(session, inbox_id, now):
            return None
        sender = await people_store.sender(session, incoming.channel, incoming.sender_id)
        return await self._route(session, incoming, sender)

    async def _route(
        self, session: AsyncSession, incoming: Incoming, sender: Author
    ) -> tuple[list[Reply], PersonDTO | None]:
        ctx = Context(
            session=session,
            clock=self.clock,
            rules=self.rules,
            incoming=incoming,
            person=sender.person,
            services=self.services,
            state=sender.state,
        )
        replies = await dispatch(ctx, self.registry)
        person_id = ctx.person.id if ctx.person else None
        log.info(
            "handled channel=%s msg=%s kind=%s person=%s replies=%d",
            incoming.channel,
            incoming.message_id,
            incoming.kind,
            person_id,
            len(replies),
            extra={
                "channel": incoming.channel,
                "msg_id": incoming.message_id,
                "person_id": person_id,
            },
        )
        return replies, ctx.person

    async def _mark_handled(
        self,
        incoming: Incoming,
        inbox_id: int | None,
        error: str | None,
        replies: list[Reply],
        after: AfterHook | None,
    ) -> None:
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            if inbox_id is not None and error:
                await inbox.mark_failed(session, inbox_id, error, now)
            elif inbox_id is not None:
                await inbox.claim(session, inbox_id, now)
            else:
                await record(session, incoming, now, handled=True, error=error)
            if after is not None:
                await after(session, incoming, replies, None)


def _log_duplicate(incoming: Incoming) -> None:
    log.info("duplicate message ignored channel=%s msg=%s", incoming.channel, incoming.message_id)
