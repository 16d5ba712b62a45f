"""The outbox sender: claims due rows and sends them through the recipient's channel.

Delivery is at-least-once: a worker that dies between claim and send leaves the row in
``sending``; after the lease it is claimed again, and the idempotency key shows the repeat.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import async_sessionmaker

from storage import outbox
from storage import people as people_store
from storage.clock import Clock
from storage.rules import Rules

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SendResult:
    ok: bool
    delivered: bool = False  # shown to the person right now (an open web chat page)
    retry_after: float | None = None  # the channel asked us to wait this long (seconds)
    permanent: bool = False  # retrying cannot help (user blocked the bot, invalid user)
    error: str = ""


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` messages per ``seconds``."""

    count: int
    seconds: float


@dataclass(frozen=True)
class ChannelLimits:
    """A channel's sending limits, enforced by the delivery worker *before* sending (WeCom
    drops the excess silently, so discovering the limit afterwards is too late)."""

    overall: tuple[RateLimit, ...] = ()
    per_recipient: tuple[RateLimit, ...] = ()


class Sender(Protocol):
    """What a channel offers the delivery worker."""

    name: str
    limits: ChannelLimits

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult: ...


def backoff(attempts: int, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class Delivery:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        senders: dict[str, Sender],
        *,
        worker_id: str | None = None,
        batch: int = 100,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.senders = senders
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch
        self.wake = asyncio.Event()

    async def run_once(self) -> int:
        """Send one batch of due rows; returns how many rows were attempted."""
        async with self.sessionmaker() as session, session.begin():
            items = await outbox.claim_due(
                session, now=self.clock.now(), worker=self.worker_id, limit=self.batch
            )
        for item in items:
            await self._deliver(item)
        return len(items)

    async def _route(self, item: outbox.OutboxItem) -> tuple[Sender, str] | None:
        async with self.sessionmaker() as session:
            idents = await people_store.identities(session, item.recipient_id)
            person = await people_store.get(session, item.recipient_id)
        usable = [i for i in idents if i.status == "ok" and i.channel in self.senders]
        if item.channel:
            usable = [i for i in usable if i.channel == item.channel] or usable
        elif person and person.last_channel:
            usable.sort(key=lambda i: i.channel != person.last_channel)
        if not usable:
            return None
        return self.senders[usable[0].channel], usable[0].external_id

    async def _deliver(self, item: outbox.OutboxItem) -> None:
        route = await self._route(item)
        now = self.clock.now()
        if route is None:
            async with self.sessionmaker() as session, session.begin():
                await outbox.mark_final(
                    session, item.id, "undeliverable", "no usable channel identity"
                )
            log.warning("outbox undeliverable id=%s key=%s", item.id, item.idempotency_key)
            return
        sender, external_id = route
        try:
            result = await sender.send(external_id, item.body, item.id)
        except Exception as exc:  # a channel bug or an unreachable server: retry later
            log.warning("send raised id=%s channel=%s", item.id, sender.name, exc_info=True)
            result = SendResult(ok=False, error=repr(exc))
        async with self.sessionmaker() as session, session.begin():
            if result.ok:
                await outbox.mark_sent(
                    session, item.id, now, sender.name, delivered=result.delivered
                )
            elif result.permanent:
                await outbox.mark_final(session, item.id, "undeliverable", result.error)
                await people_store.set_identity_status(session, sender.name, external_id, "blocked")
            elif item.attempts >= self.rules.delivery_max_attempts:
                await outbox.mark_final(session, item.id, "dead", result.error)
                log.warning("outbox dead id=%s key=%s", item.id, item.idempotency_key)
            else:
                wait = (
                    timedelta(seconds=result.retry_after)
                    if result.retry_after
                    else backoff(item.attempts)
                )
                await outbox.mark_retry(session, item.id, result.error, now + wait)

    async def run_forever(self, interval: float = 1.0) -> None:
        while True:
            try:
                sent = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery loop error")
                sent = 0
            if sent == 0:
                self.wake.clear()
                try:
                    await asyncio.wait_for(self.wake.wait(), interval)
                except TimeoutError:
                    pass
