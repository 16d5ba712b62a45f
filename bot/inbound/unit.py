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
from storage import inbox
from storage import people as people_store
from storage.people import PersonDTO
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

    async def run(
        self, incoming: Incoming, inbox_id: int | None, after: AfterHook | None
    ) -> list[Reply] | None:
        """Handle the message (``inbox_id``: already in the inbox, claim it; else record it);
        ``None`` for a duplicate or a row another worker claimed."""
        try:
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

    async def _dispatch(
        self, session: AsyncSession, incoming: Incoming, inbox_id: int | None
    ) -> tuple[list[Reply], PersonDTO | None] | None:
        now = self.clock.now()
        # Per-sender order across processes: the inbox statement first takes a transaction
        # lock on the sender (PostgreSQL; SQLite has one writer at a time anyway), so what is
        # read next is what the sender's previous message left.
        lock = inbox.sender_lock(session, incoming.channel, incoming.sender_id)
        if inbox_id is None:
            if await record(session, incoming, now, handled=True, lock=lock) is None:
                log.info(
                    "duplicate message ignored channel=%s msg=%s",
                    incoming.channel,
                    incoming.message_id,
                )
                return None
        elif not await inbox.claim(session, inbox_id, now, lock=lock):
            return None
        sender = await people_store.sender(session, incoming.channel, incoming.sender_id)
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
