"""The outbox sender: claims due rows and sends them through the recipient's channel.

Delivery is at-least-once: a worker that dies between claim and send leaves the row in
``sending``; after the lease it is claimed again, and the idempotency key shows the repeat.

Per batch: one claim transaction (replies before bulk; PostgreSQL ``FOR UPDATE SKIP LOCKED``),
one query to route every row to a channel identity, rate limits checked *before* each send
(WeCom drops the excess silently), sends run concurrently, and one transaction records the
outcomes. A row that a limit or a paused channel holds back goes back to ``pending`` with a
later ``not_before`` and its attempt is not counted; so is a row whose channel is down, so
nothing is dropped while a channel is unreachable.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from core.channel import RateLimit, Sender, SendResult
from core.clock import Clock
from core.rules import Rules
from storage import delivery_routes, outbox
from storage import people as people_store
from storage.session import AsyncSession, Sessionmaker

log = logging.getLogger(__name__)

# Errors that mean "the channel is unreachable", not "this message is bad".
CHANNEL_DOWN_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
DOWN_PAUSE = timedelta(seconds=30)
SEND_CONCURRENCY = 32


def backoff(attempts: int, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


class _Window:
    """Send times inside the longest window of a set of limits (a sliding-window log)."""

    __slots__ = ("times",)

    def __init__(self) -> None:
        self.times: deque[datetime] = deque()

    def wait(self, limits: tuple[RateLimit, ...], now: datetime) -> timedelta:
        """How long until one more send fits every limit (zero: it fits now)."""
        longest = max(lim.seconds for lim in limits)
        while self.times and self.times[0] <= now - timedelta(seconds=longest):
            self.times.popleft()
        worst = timedelta(0)
        for lim in limits:
            start = now - timedelta(seconds=lim.seconds)
            inside = [t for t in self.times if t > start] if lim.seconds < longest else self.times
            if len(inside) >= lim.count:
                oldest = list(inside)[len(inside) - lim.count]
                worst = max(worst, oldest + timedelta(seconds=lim.seconds) - now)
        return worst


@dataclass
class _Gate:
    overall: _Window = field(default_factory=_Window)
    recipients: dict[str, _Window] = field(default_factory=dict)
    paused_until: datetime | None = None


class ChannelGates:
    """Per-process rate-limit state and pauses, shared by every delivery worker of the process,
    so a channel's retry-after pauses all of them at once."""

    def __init__(self) -> None:
        self._gates: dict[str, _Gate] = {}

    def _gate(self, channel: str) -> _Gate:
        return self._gates.setdefault(channel, _Gate())

    def pause(self, channel: str, until: datetime) -> None:
        gate = self._gate(channel)
        if gate.paused_until is None or until > gate.paused_until:
            gate.paused_until = until
        log.warning("channel paused channel=%s until=%s", channel, until.isoformat())

    def reserve(self, sender: Sender, external_id: str, now: datetime) -> timedelta:
        """Take a send slot now (zero) or say how long to wait; checks happen before sending."""
        gate = self._gate(sender.name)
        if gate.paused_until is not None:
            if gate.paused_until > now:
                return gate.paused_until - now
            gate.paused_until = None
        limits = sender.limits
        wait = gate.overall.wait(limits.overall, now) if limits.overall else timedelta(0)
        window = None
        if limits.per_recipient:
            window = gate.recipients.get(external_id)
            if window is None:
                if len(gate.recipients) > 50_000:  # forget idle recipients
                    gate.recipients.clear()
                window = gate.recipients[external_id] = _Window()
            wait = max(wait, window.wait(limits.per_recipient, now))
        if wait > timedelta(0):
            return wait
        if limits.overall:
            gate.overall.times.append(now)
        if window is not None:
            window.times.append(now)
        return timedelta(0)


@dataclass
class _Outcome:
    item: outbox.OutboxItem
    kind: str  # sent | retry | dead | undeliverable | defer
    channel: str = ""
    external_id: str = ""
    delivered: bool = False
    error: str = ""
    at: datetime | None = None


class Delivery:
    def __init__(
        self,
        sessionmaker: Sessionmaker,
        clock: Clock,
        rules: Rules,
        senders: dict[str, Sender],
        *,
        worker_id: str | None = None,
        batch: int = 100,
        gates: ChannelGates | None = None,
        lease: timedelta = timedelta(minutes=5),
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.senders = senders
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch
        self.gates = gates or ChannelGates()
        self.lease = lease
        self.wake = asyncio.Event()

    async def run_once(self) -> int:
        """Send one batch of due rows; returns how many rows were claimed."""
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            items = await outbox.claim_due(
                session, now=now, worker=self.worker_id, limit=self.batch, lease=self.lease
            )
            if not items:
                return 0
            routes = await self._routes(session, items)
        sem = asyncio.Semaphore(SEND_CONCURRENCY)
        planned: list[asyncio.Task[_Outcome]] = []
        outcomes: list[_Outcome] = []
        for item in items:
            route = routes.get(item.id)
            if route is None:
                outcomes.append(_Outcome(item, "undeliverable", error="no usable channel identity"))
                continue
            sender, external_id = route
            wait = self.gates.reserve(sender, external_id, now)
            if wait > timedelta(0):
                outcomes.append(_Outcome(item, "defer", at=now + wait))
                continue
            planned.append(asyncio.create_task(self._send(sem, item, sender, external_id)))
        outcomes += await asyncio.gather(*planned)
        async with self.sessionmaker() as session, session.begin():
            await self._record(session, outcomes)
        return len(items)

    async def _routes(
        self, session: AsyncSession, items: list[outbox.OutboxItem]
    ) -> dict[int, tuple[Sender, str]]:
        """Each row's sender and external id, for the whole batch in one query."""
        by_person = await delivery_routes.reachable(session, {i.recipient_id for i in items})
        out: dict[int, tuple[Sender, str]] = {}
        for item in items:
            usable = [r for r in by_person.get(item.recipient_id, []) if r.channel in self.senders]
            # A row's own channel first, then the configured push channel, then the one the
            # person used last; any other working identity is the fallback.
            preferred = item.channel
            if not preferred and self.rules.push_channel != "last":
                preferred = self.rules.push_channel
            if not preferred and usable:
                preferred = usable[0].last_channel
            if preferred:
                usable = sorted(usable, key=lambda u: u.channel != preferred)
            if usable:
                out[item.id] = (self.senders[usable[0].channel], usable[0].external_id)
        return out

    async def _send(
        self, sem: asyncio.Semaphore, item: outbox.OutboxItem, sender: Sender, external_id: str
    ) -> _Outcome:
        async with sem:
            try:
                result = await sender.send(external_id, item.body, item.id)
            except CHANNEL_DOWN_ERRORS as exc:
                # The channel is unreachable: hold every row for it, without spending attempts.
                until = self.clock.now() + DOWN_PAUSE
                self.gates.pause(sender.name, until)
                log.warning("channel down id=%s channel=%s err=%r", item.id, sender.name, exc)
                return _Outcome(item, "defer", at=until, error=repr(exc))
            except Exception as exc:  # a channel bug: count it as a failed attempt
                log.warning("send raised id=%s channel=%s", item.id, sender.name, exc_info=True)
                result = SendResult(ok=False, error=repr(exc))
        now = self.clock.now()
        if result.ok:
            return _Outcome(item, "sent", sender.name, external_id, result.delivered, at=now)
        if result.retry_after:
            until = now + timedelta(seconds=result.retry_after)
            self.gates.pause(sender.name, until)
            return _Outcome(item, "defer", sender.name, external_id, at=until, error=result.error)
        if result.permanent:
            return _Outcome(item, "undeliverable", sender.name, external_id, error=result.error)
        if item.attempts >= self.rules.delivery_max_attempts:
            log.warning("outbox dead id=%s key=%s", item.id, item.idempotency_key)
            return _Outcome(item, "dead", sender.name, external_id, error=result.error)
        return _Outcome(
            item,
            "retry",
            sender.name,
            external_id,
            error=result.error,
            at=now + backoff(item.attempts),
        )

    async def _record(self, session: AsyncSession, outcomes: list[_Outcome]) -> None:
        now = self.clock.now()
        sent: dict[tuple[str, bool], list[int]] = {}
        for o in outcomes:
            if o.kind == "sent":
                sent.setdefault((o.channel, o.delivered), []).append(o.item.id)
            elif o.kind == "defer":
                assert o.at is not None
                await outbox.defer(session, o.item.id, o.at, o.error)
            elif o.kind == "retry":
                assert o.at is not None
                await outbox.mark_retry(session, o.item.id, o.error, o.at)
            else:
                await outbox.mark_final(session, o.item.id, o.kind, o.error)
                if o.kind == "undeliverable" and o.channel:
                    await people_store.set_identity_status(
                        session, o.channel, o.external_id, "blocked"
                    )
                if o.kind == "undeliverable":
                    log.warning(
                        "outbox undeliverable id=%s key=%s", o.item.id, o.item.idempotency_key
                    )
        for (channel, delivered), ids in sent.items():
            await outbox.mark_sent(session, ids, now, channel, delivered=delivered)

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
