"""The clock-driven jobs, on APScheduler 3 (AsyncIOScheduler, jobs kept in memory).

Every job asks the database what is due and not yet queued, and queues it under a unique
outbox key; it never asks "is it 07:30 now?". That avoids two APScheduler 3 traps: the default
``misfire_grace_time`` of one second silently drops a daily job whose time passed while the
service was down, and the synchronous SQLAlchemyJobStore must not be shared between processes.
So two processes may both run the scheduler, a job may be re-run after a crash, and a missed
morning is caught up once.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from apscheduler.schedulers.asyncio import AsyncIOScheduler

from core.clock import Clock
from core.rules import Rules
from storage import digest_due
from storage.session import AsyncSession, async_sessionmaker
from tasks import digest, nudges, reminders

log = logging.getLogger(__name__)

REMINDER_INTERVAL = 60  # seconds between due-reminder scans
CATCH_UP_INTERVAL = 60  # seconds between "which digests are due" checks


@dataclass(frozen=True)
class TickResult:
    reminders: int
    escalations: int
    morning: int
    evening: int
    nudges: int


async def _pending_digest(
    kind: digest_due.Kind, session: AsyncSession, now: datetime, rules: Rules
) -> digest.Pending:
    return await digest.pending(session, kind, now, rules)


class Scheduler:
    def __init__(
        self,
        sessionmaker: async_sessionmaker,
        clock: Clock,
        rules: Rules,
        *,
        on_enqueued: Callable[[], None] | None = None,
    ) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.on_enqueued = on_enqueued  # e.g. wake the delivery worker
        self._aps: AsyncIOScheduler | None = None

    async def _job(self, name: str, fn: Callable[[AsyncSession], Awaitable[int]]) -> int:
        try:
            async with self.sessionmaker() as session, session.begin():
                n = await fn(session)
        except Exception:
            # The next tick retries from the database; nothing was half-queued (one transaction).
            log.exception("scheduler job failed job=%s", name)
            return 0
        if n and self.on_enqueued:
            self.on_enqueued()
        return n

    async def reminders_tick(self) -> tuple[int, int]:
        result: list[reminders.ScanResult] = []

        async def go(session: AsyncSession) -> int:
            scan = await reminders.enqueue_due_reminders(session, self.clock.now(), self.rules)
            result.append(scan)
            return scan.reminders + scan.escalations

        await self._job("reminders", go)
        return (result[0].reminders, result[0].escalations) if result else (0, 0)

    async def _chunked(
        self,
        name: str,
        pending: Callable[[AsyncSession, datetime, Rules], Awaitable[digest.Pending]],
        chunk_job: Callable[..., Awaitable[int]],
    ) -> int:
        """Who is due (one index read), then chunk by chunk, each its own transaction: a
        second scheduler at once takes the chunks this one does not hold."""
        now = self.clock.now()
        found: list[digest.Pending] = []

        async def look(session: AsyncSession) -> int:
            found.append(await pending(session, now, self.rules))
            return 0

        await self._job(name, look)
        if not found:
            return 0
        todo = found[0]
        total = 0
        for chunk in todo.chunks():
            job = partial(chunk_job, todo=todo, chunk=chunk, now=now, rules=self.rules)
            total += await self._job(name, job)
        return total

    async def _digest_tick(self, kind: digest_due.Kind) -> int:
        return await self._chunked(kind, partial(_pending_digest, kind), digest.enqueue_chunk)

    async def morning_tick(self) -> int:
        return await self._digest_tick("morning")

    async def evening_tick(self) -> int:
        return await self._digest_tick("evening")

    async def nudge_tick(self) -> int:
        return await self._chunked("nudge", nudges.pending, nudges.enqueue_chunk)

    async def tick(self) -> TickResult:
        """Everything that is due now (what each interval run does)."""
        rem, esc = await self.reminders_tick()
        return TickResult(
            rem, esc, await self.morning_tick(), await self.evening_tick(), await self.nudge_tick()
        )

    def start(self) -> AsyncIOScheduler:
        """Register the jobs and start (call inside the running event loop)."""
        aps = AsyncIOScheduler(timezone=self.rules.timezone)
        common = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}
        aps.add_job(
            self.reminders_tick, "interval", seconds=REMINDER_INTERVAL, id="reminders", **common
        )
        aps.add_job(self.catch_up, "interval", seconds=CATCH_UP_INTERVAL, id="catch_up", **common)
        # Cron jobs at the configured hours make the default digests prompt; the catch-up job
        # covers personal hours and downtime.
        for name, at, fn in (
            ("morning", self.rules.morning_digest, self.morning_tick),
            ("evening", self.rules.evening_digest, self.evening_tick),
        ):
            aps.add_job(fn, "cron", hour=at.hour, minute=at.minute, id=name, **common)
        aps.add_job(self.nudge_tick, "cron", day=nudges.NUDGE_DAY, hour=9, id="nudge", **common)
        aps.start()
        self._aps = aps
        return aps

    async def catch_up(self) -> None:
        await self.morning_tick()
        await self.evening_tick()
        await self.nudge_tick()

    def shutdown(self) -> None:
        if self._aps is not None and self._aps.running:
            self._aps.shutdown(wait=False)
        self._aps = None
