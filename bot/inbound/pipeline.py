"""The inbound flow shared by every channel: inbox (dedup) -> router -> replies.

    receive: channel -> Incoming -> [inbox row + router + handler + channel hook] one transaction
    record/handle: inbox row committed first (WeCom must answer at once), then claimed and
                   handled in a second transaction (also how unhandled rows are recovered)

A duplicate message id returns ``None``: nothing is done twice. A refusal or a handler that
raises leaves nothing half-written (the transaction is rolled back); the message is then
marked handled on its own and the user gets the refusal or a short apology.

The jobs live in their own modules: :mod:`bot.inbound.recorder` (group commit),
:mod:`bot.inbound.unit` (the transaction and error mapping), :mod:`bot.inbound.recovery`,
and per-sender order in :mod:`bot.channels.order`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta

from bot.channels import split
from bot.channels.order import KeyedLocks
from bot.channels.texts import TOO_LONG
from bot.inbound import recovery
from bot.inbound.recorder import Recorder, clean
from bot.inbound.unit import AfterHook, Unit
from core.clock import Clock
from core.messages import Incoming, Reply
from core.rules import Rules
from handlers.context import Services
from handlers.registry import Registry
from storage.session import async_sessionmaker

log = logging.getLogger(__name__)


class Inbound:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        registry: Registry,
        services: Services | None = None,
        ready: asyncio.Event | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.registry = registry
        self.services = services if services is not None else Services()
        self._unit = Unit(sessionmaker, clock, rules, registry, self.services)
        self._recorder = Recorder(sessionmaker, clock)
        # One message at a time per sender inside this process, so a person's messages are
        # handled in the order they arrived; across processes PostgreSQL advisory locks do it.
        self.order = KeyedLocks()
        # Set once what handling needs is loaded (the FAQ index: bot.app loads it after the
        # port opens); messages wait for it before their transaction, so none fails for it.
        if ready is None:
            ready = asyncio.Event()
            ready.set()
        self.ready = ready

    async def receive(
        self, incoming: Incoming, after: AfterHook | None = None
    ) -> list[Reply] | None:
        """Record and handle one message in one transaction; ``None`` for a message id that
        was received before. An error here means nothing was stored (the channel's server
        should send it again)."""
        incoming = clean(incoming)
        if incoming.kind == "text" and split.too_long(incoming.text):
            log.info(
                "text too long channel=%s msg=%s len=%d",
                incoming.channel,
                incoming.message_id,
                len(incoming.text),
            )
            return [Reply(TOO_LONG)]
        return await self._in_order(incoming, None, after)

    async def record(self, incoming: Incoming) -> int | None:
        """Write the message to the inbox and commit (group commit); ``None`` for a message id
        seen before. Channels that must answer their server at once (WeCom's 5-second window)
        call this, answer, and then call :meth:`handle` in the background. An error here
        means nothing was stored."""
        return await self._recorder.record(clean(incoming))

    async def handle(
        self, inbox_id: int, incoming: Incoming, after: AfterHook | None = None
    ) -> list[Reply] | None:
        """Handle a message already in the inbox (see :meth:`record`); ``None`` if another
        worker handled it already."""
        return await self._in_order(clean(incoming), inbox_id, after)

    async def recover(self, older_than: timedelta = recovery.SWEEP_AGE) -> int:
        """Handle inbox rows that were received but never handled (see bot.inbound.recovery)."""
        return await recovery.recover(self.sessionmaker, self.clock, self.handle, older_than)

    async def sweep_forever(self, every: float = recovery.SWEEP_EVERY) -> None:
        """:meth:`recover` every few seconds, until cancelled (bot.app runs it)."""
        await recovery.sweep_forever(self.sessionmaker, self.clock, self.handle, every=every)

    async def _in_order(
        self, incoming: Incoming, inbox_id: int | None, after: AfterHook | None
    ) -> list[Reply] | None:
        if not self.ready.is_set():
            await self.ready.wait()
        async with self.order.hold((incoming.channel, incoming.sender_id)):
            return await self._unit.run(incoming, inbox_id, after)
