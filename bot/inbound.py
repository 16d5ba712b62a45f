"""The inbound flow shared by every channel: inbox (dedup) -> router -> replies.

    receive: channel -> Incoming -> [inbox row + router + handler + channel hook] one transaction
    record/handle: inbox row committed first (WeCom must answer at once), then claimed and
                   handled in a second transaction (also how unhandled rows are recovered)

A duplicate message id returns ``None``: nothing is done twice. A refusal or a handler that
raises leaves nothing half-written (the transaction is rolled back); the message is then
marked handled on its own and the user gets the refusal or a short apology.
"""

from __future__ import annotations

import asyncio
import logging
import zlib
from collections import defaultdict
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.errors import DomainError
from core.messages import MAX_TEXT, Incoming, Reply
from core.rules import Rules
from handlers import texts
from handlers.context import Context, Services
from handlers.registry import Registry
from handlers.router import dispatch
from storage import inbox, outbox
from storage import people as people_store
from storage.people import PersonDTO

log = logging.getLogger(__name__)

RECORD_BATCH = 100  # inbox rows written by one statement at most

# Called inside the message's transaction with the replies, so a channel can keep its own
# record of the exchange (the web chat history) atomically with the handler's writes. It gets
# the sender as the handler left them (``None`` when unbound, or unknown after a refusal).
AfterHook = Callable[[AsyncSession, Incoming, list[Reply], PersonDTO | None], Awaitable[None]]


class Inbound:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        registry: Registry,
        services: Services | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.registry = registry
        self.services = services if services is not None else Services()
        # One message at a time per sender inside this process, so a person's messages are
        # handled in the order they arrived; across processes PostgreSQL advisory locks do it.
        self._locks: defaultdict[tuple[str, str], asyncio.Lock] = defaultdict(asyncio.Lock)
        # Messages waiting for the inbox writer (see record).
        self._to_record: list[tuple[Incoming, asyncio.Future[int | None]]] = []
        self._recorder: asyncio.Task[None] | None = None

    async def receive(
        self, incoming: Incoming, after: AfterHook | None = None
    ) -> list[Reply] | None:
        """Record and handle one message in one transaction; ``None`` for a message id that
        was received before."""
        if incoming.kind == "text" and len(incoming.text) > MAX_TEXT:
            log.info(
                "text too long channel=%s msg=%s len=%d",
                incoming.channel,
                incoming.message_id,
                len(incoming.text),
            )
            return [Reply(texts.TOO_LONG.format(limit=MAX_TEXT))]
        return await self._serialized(incoming, None, after)

    async def record(self, incoming: Incoming) -> int | None:
        """Write the message to the inbox and commit; ``None`` for a message id seen before.

        Channels that must answer their server at once (WeCom's 5-second window) call this,
        answer, and then call :meth:`handle` in the background.

        Group commit: a message that arrives while an inbox write is in flight joins the next
        one, so under load many messages share one transaction and one statement; alone, a
        message is written at once."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._to_record.append((incoming, future))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.create_task(self._record_pending(), name="inbox-writer")
        inbox_id = await future
        if inbox_id is None:
            log.info(
                "duplicate message ignored channel=%s msg=%s", incoming.channel, incoming.message_id
            )
        return inbox_id

    async def _record_pending(self) -> None:
        while self._to_record:
            batch = self._to_record[:RECORD_BATCH]
            del self._to_record[:RECORD_BATCH]
            try:
                ids = await self._record_batch([incoming for incoming, _ in batch])
            except Exception as exc:  # each caller gets the error (and its channel a 5xx)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), inbox_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(inbox_id)

    async def _record_batch(self, batch: list[Incoming]) -> list[int | None]:
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            if len(batch) == 1:  # the common case at low load: the cached one-row statement
                return [await _record(session, batch[0], now, handled=False)]
            new = await inbox.record_many(
                session, [_inbox_values(incoming, now, handled=False) for incoming in batch]
            )
        # A message id twice in one batch (a channel's quick retry): the first one is new.
        out: list[int | None] = []
        for incoming in batch:
            out.append(new.pop((incoming.channel, incoming.message_id), None))
        return out

    async def handle(
        self, inbox_id: int, incoming: Incoming, after: AfterHook | None = None
    ) -> list[Reply] | None:
        """Handle a message already in the inbox (see :meth:`record`); ``None`` if another
        worker handled it already."""
        return await self._serialized(incoming, inbox_id, after)

    async def _serialized(
        self, incoming: Incoming, inbox_id: int | None, after: AfterHook | None
    ) -> list[Reply] | None:
        key = (incoming.channel, incoming.sender_id)
        async with self._locks[key]:
            try:
                return await self._run(incoming, inbox_id, after)
            finally:
                lock = self._locks.get(key)
                if lock is not None and not lock.locked():
                    self._locks.pop(key, None)

    async def _run(
        self, incoming: Incoming, inbox_id: int | None, after: AfterHook | None
    ) -> list[Reply] | None:
        # The common path is one transaction: inbox row (or claim), handler, commit. A refusal
        # or a crash rolls all of it back, handler writes included; the message is then marked
        # handled in a second, small transaction so a channel's retry stays a no-op.
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
        lock = sender_lock(incoming) if session.get_bind().dialect.name == "postgresql" else None
        if inbox_id is None:
            if await _record(session, incoming, now, handled=True, lock=lock) is None:
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
        log.info(
            "handled channel=%s msg=%s kind=%s person=%s replies=%d",
            incoming.channel,
            incoming.message_id,
            incoming.kind,
            ctx.person.id if ctx.person else None,
            len(replies),
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
                await _record(session, incoming, now, handled=True, error=error)
            if after is not None:
                await after(session, incoming, replies, None)

    async def recover(self, older_than: timedelta = timedelta(seconds=30)) -> int:
        """Handle inbox rows that were received but never handled (e.g. the process stopped
        in between). Nobody waits on a socket for these replies: they go to the outbox, in the
        message's transaction, and the delivery worker sends them on the message's channel."""
        count = 0
        while True:
            async with self.sessionmaker() as session:
                rows = await inbox.unhandled(session, self.clock.now() - older_than)
            for row in rows:
                await self.handle(
                    row.id, Incoming.from_dict(row.payload), after=self._queue_replies
                )
            count += len(rows)
            if len(rows) < inbox.UNHANDLED_BATCH:
                return count

    async def _queue_replies(
        self,
        session: AsyncSession,
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
                key=reply_key(incoming, index),
                now=self.clock.now(),
                priority=outbox.PRIORITY_REPLY,
                channel=incoming.channel,
            )


async def _record(
    session: AsyncSession,
    incoming: Incoming,
    now: datetime,
    *,
    handled: bool,
    error: str | None = None,
    lock: int | None = None,
) -> int | None:
    return await inbox.record(
        session, **_inbox_values(incoming, now, handled=handled, error=error), lock=lock
    )


def _inbox_values(
    incoming: Incoming, now: datetime, *, handled: bool, error: str | None = None
) -> dict[str, Any]:
    return {
        "channel": incoming.channel,
        "message_id": incoming.message_id,
        "sender_id": incoming.sender_id,
        "payload": incoming.to_dict(),
        "now": now,
        "handled_at": now if handled else None,
        "error": error,
    }


def reply_key(incoming: Incoming, index: int) -> str:
    """Outbox key of the ``index``-th reply to a message: a reply is queued at most once."""
    return f"reply:{incoming.channel}:{incoming.message_id}:{index}"


def sender_lock(incoming: Incoming) -> int:
    """The advisory lock key serializing one sender's messages across processes."""
    return zlib.crc32(f"{incoming.channel}:{incoming.sender_id}".encode())
