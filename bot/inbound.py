"""The inbound flow shared by every channel: inbox (dedup) -> router -> replies.

    channel -> Incoming -> inbox.record (commit) -> claim + dispatch (one transaction) -> replies

A duplicate message id returns ``None``: nothing is done twice. A handler that raises leaves
nothing half-written (its transaction is rolled back) and the user gets a short apology.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import async_sessionmaker

from handlers import texts
from handlers.context import Context
from handlers.messages import MAX_TEXT, Incoming, Reply
from handlers.registry import Registry
from handlers.router import dispatch
from storage import inbox
from storage import people as people_store
from storage.clock import Clock
from storage.rules import Rules

log = logging.getLogger(__name__)


class Inbound:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        registry: Registry,
        services: dict[str, Any] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.registry = registry
        self.services = services if services is not None else {}
        # One message at a time per sender inside this process, so a person's messages are
        # handled in the order they arrived; across processes PostgreSQL advisory locks do it.
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)

    async def receive(self, incoming: Incoming) -> list[Reply] | None:
        """Record and handle one message; ``None`` if this message id was already received."""
        if incoming.kind == "text" and len(incoming.text) > MAX_TEXT:
            log.info(
                "text too long channel=%s msg=%s len=%d",
                incoming.channel,
                incoming.message_id,
                len(incoming.text),
            )
            return [Reply(texts.TOO_LONG.format(limit=MAX_TEXT))]
        inbox_id = await self.record(incoming)
        if inbox_id is None:
            return None
        return await self.handle(inbox_id, incoming)

    async def record(self, incoming: Incoming) -> int | None:
        """Write the message to the inbox and commit; ``None`` for a message id seen before.

        Channels that must answer their server at once (WeCom's 5-second window) call this,
        answer, and then call :meth:`handle` in the background."""
        async with self.sessionmaker() as session, session.begin():
            inbox_id = await inbox.record(
                session,
                channel=incoming.channel,
                message_id=incoming.message_id,
                sender_id=incoming.sender_id,
                payload=incoming.to_dict(),
                now=self.clock.now(),
            )
        if inbox_id is None:
            log.info(
                "duplicate message ignored channel=%s msg=%s", incoming.channel, incoming.message_id
            )
        return inbox_id

    async def handle(self, inbox_id: int, incoming: Incoming) -> list[Reply] | None:
        key = (incoming.channel, incoming.sender_id)
        async with self._locks[key]:
            try:
                return await self._handle(inbox_id, incoming)
            except Exception as exc:
                log.exception(
                    "handler failed channel=%s msg=%s", incoming.channel, incoming.message_id
                )
                async with self.sessionmaker() as session, session.begin():
                    await inbox.mark_failed(session, inbox_id, repr(exc), self.clock.now())
                return [Reply(texts.INTERNAL_ERROR)]
            finally:
                lock = self._locks.get(key)
                if lock is not None and not lock.locked():
                    self._locks.pop(key, None)

    async def _handle(self, inbox_id: int, incoming: Incoming) -> list[Reply] | None:
        async with self.sessionmaker() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":
                lock_id = zlib.crc32(f"{incoming.channel}:{incoming.sender_id}".encode())
                await session.execute(sa.text("SELECT pg_advisory_xact_lock(:k)"), {"k": lock_id})
            if not await inbox.claim(session, inbox_id, self.clock.now()):
                return None
            person = await people_store.by_identity(session, incoming.channel, incoming.sender_id)
            ctx = Context(
                session=session,
                clock=self.clock,
                rules=self.rules,
                incoming=incoming,
                person=person,
                services=self.services,
            )
            replies = await dispatch(ctx, self.registry)
            log.info(
                "handled channel=%s msg=%s kind=%s person=%s replies=%d",
                incoming.channel,
                incoming.message_id,
                incoming.kind,
                ctx.person.id if ctx.person else None,
                len(replies),
            )
            return replies

    async def recover(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Handle inbox rows that were received but never handled (e.g. a crash in between)."""
        async with self.sessionmaker() as session:
            rows = await inbox.unhandled(session, self.clock.now() - older_than)
        for row in rows:
            await self.handle(row.id, Incoming.from_dict(row.payload))
        return len(rows)
