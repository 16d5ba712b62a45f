"""What may be sent now: rate limits checked *before* each send, pauses and the breaker.

The limits of a channel (core.channel.ChannelLimits) are sliding windows. With one process on
SQLite they live in memory; once :meth:`ChannelGates.attach` is given a PostgreSQL
sessionmaker (the delivery worker does this) they live in the ``rate_windows`` table, so every
process sending to one WeCom member shares one window (WeCom drops the excess silently).
A channel's retry-after pause and its circuit breaker are per process.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.channel import RateLimit, Sender
from storage import rate_windows
from storage.session import Sessionmaker
from tasks.breaker import Breaker

log = logging.getLogger(__name__)

MEMORY_KEYS_MAX = 50_000  # forget idle recipients beyond this many (memory windows)
FORGET_EVERY = 1000  # shared windows: drop idle rows every this many reservations
IDLE = timedelta(days=1)


def _requests(sender: Sender, external_id: str) -> list[tuple[str, tuple[RateLimit, ...]]]:
    limits = sender.limits
    request = []
    if limits.overall:
        request.append((rate_windows.window_key(sender.name), limits.overall))
    if limits.per_recipient:
        request.append((rate_windows.window_key(sender.name, external_id), limits.per_recipient))
    return request


class ChannelGates:
    """Rate windows, retry-after pauses and the circuit breaker, shared by every delivery
    worker and the reply path of a process (and the windows by every process on PostgreSQL)."""

    def __init__(self) -> None:
        self.breaker = Breaker()
        self._paused: dict[str, datetime] = {}
        self._memory: dict[str, list[float]] = {}
        self._shared: Sessionmaker | None = None
        self._reservations = 0

    def attach(self, sessionmaker: Sessionmaker) -> None:
        """Keep the windows in the database when it is PostgreSQL (several processes)."""
        bind = sessionmaker.kw.get("bind")
        if bind is not None and bind.dialect.name == "postgresql" and self._shared is None:
            self._shared = sessionmaker
            log.info("delivery rate limits shared in postgresql")

    @property
    def shared(self) -> bool:
        return self._shared is not None

    def pause(self, channel: str, until: datetime) -> None:
        if until > self._paused.get(channel, until - timedelta(seconds=1)):
            self._paused[channel] = until
        log.warning("channel paused channel=%s until=%s", channel, until.isoformat())

    def paused(self, channel: str, now: datetime) -> timedelta:
        """How long ``channel`` is still paused by a retry-after (zero: not paused)."""
        until = self._paused.get(channel)
        if until is None:
            return timedelta(0)
        if until <= now:
            del self._paused[channel]
            return timedelta(0)
        return until - now

    async def reserve(self, sender: Sender, external_id: str, now: datetime) -> timedelta:
        """Take a send slot now (zero) or say how long to wait; checks happen before sending."""
        wait = self.paused(sender.name, now)
        if wait > timedelta(0):
            return wait
        held = self.breaker.holds(sender.name, now)
        if held > timedelta(0):
            return held
        return (await self.reserve_many([(sender, external_id)], now))[0]

    async def reserve_many(
        self, sends: Sequence[tuple[Sender, str]], now: datetime
    ) -> list[timedelta]:
        """:meth:`reserve` for a batch, in order, in one transaction when shared (pauses and the
        breaker are the caller's to check first)."""
        requests = [_requests(sender, ext) for sender, ext in sends]
        if not any(requests):
            return [timedelta(0)] * len(requests)
        if self._shared is None:
            return self._reserve_memory(requests, now)
        async with self._shared() as session, session.begin():
            waits = await rate_windows.reserve_many(session, requests, now)
            self._reservations += 1
            if self._reservations % FORGET_EVERY == 0:
                await rate_windows.forget_idle(session, now - IDLE)
        return waits

    def _reserve_memory(
        self, requests: list[list[tuple[str, tuple[RateLimit, ...]]]], now: datetime
    ) -> list[timedelta]:
        at = now.timestamp()
        if len(self._memory) > MEMORY_KEYS_MAX:
            self._memory.clear()
        for request in requests:
            for key, lims in request:
                self._memory[key] = rate_windows.prune(self._memory.get(key, []), lims, at)
        waits = rate_windows.decide(self._memory, requests, at)
        return [timedelta(seconds=w) for w in waits]
