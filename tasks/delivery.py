"""The outbox sender: claims due rows and sends them through the recipient's channel.

Delivery is at-least-once: a worker that dies between claim and send leaves the row in
``sending``; the claim is a short lease (``lease``, 30 s by default) that the live worker keeps
extending while it sends (a heartbeat every ``lease / 3``), so a killed worker's rows are claimed
again within the lease, and sent at most once more.

Per batch: one claim transaction (replies before bulk; PostgreSQL ``FOR UPDATE SKIP LOCKED``),
one query to route every row to a channel identity, rate limits checked *before* each send
(WeCom drops the excess silently; tasks.gates, shared by every process on PostgreSQL), sends
run concurrently, and one transaction records the outcomes. A row that a limit, a paused
channel or an open circuit breaker (tasks.breaker) holds back goes back to ``pending`` with a
later ``not_before`` and its attempt is not counted, so an outage spends no attempts; a row
dies only from its own failures (``delivery_max_attempts``) or, in an outage, when older than
``MAX_AGE``.

Fair sharing between counties (storage.outbox_lanes): besides the bulk loop, a worker on
PostgreSQL runs an *express* loop, woken by the same NOTIFY, that claims replies and the rows of
lanes that are not heavy (holding under a third of the first ``heavy_lane`` due bulk rows), a
few at a time, while the bulk batches of a broadcast are in flight; so one county's broadcast
does not hold another county's reminders or anyone's replies behind its batches (the bulk loop
keeps to the heavy lanes meanwhile, and takes any lane when they have nothing due). A county
whose backlog is over ``Rules.county_backlog_pause`` has its bulk paused until the backlog
falls to the threshold again: its replies still go at once, its bulk only when no other lane
has bulk due (a pause that stopped it would never drain); the worker logs both, and the
county's console says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from core import keys
from core.channel import Sender, SendResult
from core.clock import Clock
from core.rules import Rules
from core.statuses import OutboxStatus
from storage import delivery_routes, outbox, outbox_lanes, task_open
from storage import people as people_store
from storage.outbox_listen import OutboxListener
from storage.session import AsyncSession, Sessionmaker
from tasks.breaker import Admit
from tasks.gates import ChannelGates

__all__ = ["ChannelGates", "Delivery", "backoff"]

log = logging.getLogger(__name__)

# Errors that mean "the channel is unreachable", not "this message is bad".
CHANNEL_DOWN_ERRORS: tuple[type[BaseException], ...] = (ConnectionError, TimeoutError, OSError)
SEND_CONCURRENCY = 32
LEASE = timedelta(seconds=30)
MAX_AGE = timedelta(hours=24)  # a row still held by an outage after this long is dead
IDLE_POLL = 10.0  # seconds between polls while LISTEN wakes the worker (leases, late rows)
# A row a rate window holds back comes due this long after the window frees: the sends that
# filled it may have reached the channel a little after their slots were taken (the express
# loop wakes exactly when a row comes due), and WeCom counts when they arrive.
RATE_SLACK = timedelta(seconds=1)
EXPRESS_BATCH = 50  # rows an express claim takes at most
HEAVY_LANE = 500  # the express window; a lane with a third of this many at the front is heavy
LANE_REFRESH = timedelta(seconds=2)  # how often a worker looks for heavy lanes
PAUSE_REFRESH = timedelta(seconds=30)  # how often it counts each county's backlog
COUNTY_LANE = keys.county_lane(0).removesuffix("0")


class _Wake(asyncio.Event):
    """The bulk loop's wake-up, which wakes the express loop too (``delivery.wake.set()``
    is how the rest of the process says a row was queued)."""

    def __init__(self, also: asyncio.Event) -> None:
        super().__init__()
        self.also = also

    def set(self) -> None:
        super().set()
        self.also.set()


def backoff(attempts: int, base: float = 5.0, cap: float = 3600.0) -> timedelta:
    return timedelta(seconds=min(cap, base * 2 ** max(0, attempts - 1)))


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
        lease: timedelta = LEASE,
        heartbeat: float | None = None,
        listen_url: str | None = None,
        idle_poll: float = IDLE_POLL,
        express: bool | None = None,
        express_batch: int = EXPRESS_BATCH,
        heavy_lane: int = HEAVY_LANE,
        lane_refresh: timedelta = LANE_REFRESH,
        pause_refresh: timedelta = PAUSE_REFRESH,
    ) -> None:
        """``heartbeat``: real seconds between lease extensions while a batch is being sent
        (``lease / 3`` by default). ``listen_url``: a direct PostgreSQL URL to LISTEN on for
        new rows (storage.outbox_listen.listen_url); then the worker polls only every
        ``idle_poll`` seconds. ``express``: run the express loop beside the bulk loop (by
        default on PostgreSQL; SQLite has one writer). ``lane_refresh`` / ``pause_refresh``: how
        old the heavy lanes / the county backlogs may be before a claim looks again."""
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.rules = rules
        self.senders = senders
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{id(self):x}"
        self.batch = batch
        self.gates = gates or ChannelGates()
        self.gates.attach(sessionmaker)
        self.lease = lease
        self.heartbeat = heartbeat if heartbeat is not None else lease.total_seconds() / 3
        self.express_wake = asyncio.Event()
        self.wake = _Wake(self.express_wake)
        bind = sessionmaker.kw.get("bind")
        if express is None:
            express = bind is not None and bind.dialect.name == "postgresql"
        self.express = express
        self.express_batch = express_batch
        self.heavy_lane = heavy_lane
        self.lane_refresh_s = lane_refresh.total_seconds()
        self.pause_refresh_s = pause_refresh.total_seconds()
        self.heavy: frozenset[str] = frozenset()
        self.paused: frozenset[str] = frozenset()
        self._lanes_at: float | None = None
        self._paused_at: float | None = None
        self._expressing = False  # the express loop is running (run_forever)
        self.idle_poll = idle_poll
        self.listener = OutboxListener(listen_url, self.wake.set) if listen_url else None
        self._next_due: datetime | None = None

    async def run_once(self, *, express: bool = False) -> int:
        """Send one batch of due rows; returns how many rows were claimed. ``express``: only
        replies and rows of lanes that are neither heavy nor paused (the module doc)."""
        await self.refresh_lanes(self.clock.now())
        now = self.clock.now()
        async with self.sessionmaker() as session, session.begin():
            if express:
                items = await outbox_lanes.claim_express(
                    session,
                    now=now,
                    worker=self.worker_id,
                    limit=self.express_batch,
                    heavy=self.heavy | self.paused,
                    window=self.heavy_lane,
                )
            else:
                # Beside the express loop the bulk loop keeps to the heavy lanes, and takes
                # any lane when they have nothing due (nothing waits for the express window).
                # A paused county's bulk yields to every other lane's; it is never stopped: it
                # goes when nothing else is due (else it could not drain).
                only = self.heavy if self._expressing and self.heavy else None
                tries: list[tuple[frozenset[str] | None, frozenset[str]]] = [(only, self.paused)]
                if only is not None:
                    tries.append((None, self.paused))
                if self.paused:
                    tries.append((self.paused, frozenset()))
                items = []
                for lanes, paused in tries:
                    items = await outbox.claim_due(
                        session,
                        now=now,
                        worker=self.worker_id,
                        limit=self.batch,
                        lease=self.lease,
                        paused=paused,
                        only=lanes,
                    )
                    if items:
                        break
            if not items:
                return 0
            claimed = len(items)
            items = await self._drop_closed(session, items)
            if not items:
                return claimed
            routes = await self._routes(session, items)
        beat = asyncio.create_task(self._beat([i.id for i in items]))
        try:
            # The rate windows take the time of the sends, not of the claim: a slow claim
            # must not let a member's next window open before its last sends went out.
            outcomes, sends = await self._plan(items, routes, self.clock.now())
            sem = asyncio.Semaphore(SEND_CONCURRENCY)
            outcomes += await asyncio.gather(
                *(self._send(sem, item, sender, ext) for item, sender, ext in sends)
            )
        finally:
            beat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await beat
        async with self.sessionmaker() as session, session.begin():
            await self._record(session, outcomes)
        return claimed

    async def refresh_lanes(self, now: datetime) -> None:
        """Look again, when the last look is older than ``lane_refresh`` (real time: it bounds
        the cost), for the heavy lanes: those holding a third or more of the first
        ``heavy_lane`` due bulk rows. Every ``pause_refresh``, count each county's backlog:
        which are paused (logged when that changes)."""
        at = time.monotonic()
        if self._lanes_at is None or at - self._lanes_at >= self.lane_refresh_s:
            self._lanes_at = at
            async with self.sessionmaker() as session:
                front = await outbox_lanes.front_lanes(session, now, self.heavy_lane)
            self.heavy = frozenset(lane for lane, n in front.items() if 3 * n >= self.heavy_lane)
        if self._paused_at is not None and at - self._paused_at < self.pause_refresh_s:
            return
        self._paused_at = at
        limit = self.rules.county_backlog_pause
        async with self.sessionmaker() as session:
            counts = await outbox_lanes.backlogs(session, now, at_least=limit + 1)
        paused = frozenset(lane for lane in counts if lane.startswith(COUNTY_LANE))
        for lane in sorted(paused - self.paused):
            log.warning(
                "county bulk paused lane=%s backlog=%s threshold=%s worker=%s",
                lane,
                counts[lane],
                limit,
                self.worker_id,
            )
        for lane in sorted(self.paused - paused):
            log.info(
                "county bulk resumed lane=%s threshold=%s worker=%s", lane, limit, self.worker_id
            )
        self.paused = paused

    async def _drop_closed(
        self, session: AsyncSession, items: list[outbox.OutboxItem]
    ) -> list[outbox.OutboxItem]:
        """Checked at send time: a task push or reminder whose assignment is no longer open
        (withdrawn, approved, handed in) is marked cancelled, not sent, even if the row was
        still pending (cancelled after the claim, or a row cancel missed). One query a batch."""
        held = {i.id: keys.held_by_assignment(i.idempotency_key) for i in items}
        wanted = {a for a in held.values() if a is not None}
        if not wanted:
            return items
        still_open = await task_open.open_assignments(session, wanted)
        keep = []
        dropped = []
        for item in items:
            aid = held[item.id]
            if aid is None or aid in still_open:
                keep.append(item)
                continue
            log.info(
                "outbox dropped id=%s key=%s: assignment closed", item.id, item.idempotency_key
            )
            dropped.append((item.id, OutboxStatus.CANCELLED.value, "assignment closed"))
        await outbox.final_many(session, dropped)
        return keep

    async def _beat(self, ids: list[int]) -> None:
        """Keep this worker's claimed rows leased while it is alive and sending."""
        while True:
            await asyncio.sleep(self.heartbeat)
            try:
                async with self.sessionmaker() as session, session.begin():
                    await outbox.extend_lease(session, ids, self.worker_id, self.clock.now())
            except Exception:  # a missed beat only risks a duplicate send; keep sending
                log.warning("delivery heartbeat failed worker=%s", self.worker_id, exc_info=True)

    async def _plan(
        self,
        items: list[outbox.OutboxItem],
        routes: dict[int, tuple[Sender, str]],
        now: datetime,
    ) -> tuple[list[_Outcome], list[tuple[outbox.OutboxItem, Sender, str]]]:
        """Which rows go out now: routed, not paused, admitted by the breaker, within limits."""
        outcomes: list[_Outcome] = []
        admitted: list[tuple[outbox.OutboxItem, Sender, str]] = []
        for item in items:
            route = routes.get(item.id)
            if route is None:
                outcomes.append(_Outcome(item, "undeliverable", error="no usable channel identity"))
                continue
            sender, external_id = route
            paused = self.gates.paused(sender.name, now)
            if paused > timedelta(0):
                outcomes.append(_Outcome(item, "defer", at=now + paused, error="channel paused"))
                continue
            admit, at = self.gates.breaker.admit(sender.name, now)
            if admit is Admit.HOLD:
                outcomes.append(_Outcome(item, "defer", at=at, error="channel down (breaker open)"))
                continue
            admitted.append((item, sender, external_id))
        waits = await self.gates.reserve_many([(s, e) for _, s, e in admitted], now)
        sends = []
        for (item, sender, external_id), wait in zip(admitted, waits, strict=True):
            if wait > timedelta(0):
                at = now + wait + RATE_SLACK
                outcomes.append(_Outcome(item, "defer", at=at, error="rate limit"))
            else:
                sends.append((item, sender, external_id))
        return outcomes, sends

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
                result = SendResult(ok=False, unavailable=True, error=repr(exc))
            except Exception as exc:  # a channel bug: count it as a failed attempt
                log.warning("send raised id=%s channel=%s", item.id, sender.name, exc_info=True)
                result = SendResult(ok=False, error=repr(exc))
        now = self.clock.now()
        if result.unavailable:
            return self._down(item, sender.name, result.error, now)
        if result.ok:
            self.gates.breaker.up(sender.name, now)
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

    def _down(self, item: outbox.OutboxItem, channel: str, error: str, now: datetime) -> _Outcome:
        """The channel is unreachable: the breaker holds it; the row keeps its attempts unless
        it has waited longer than ``MAX_AGE``."""
        retry_at = self.gates.breaker.down(channel, now, error)
        if item.created_at is not None and now - item.created_at > MAX_AGE:
            log.warning(
                "outbox dead (channel down too long) id=%s key=%s", item.id, item.idempotency_key
            )
            return _Outcome(item, "dead", error=f"channel down over {MAX_AGE}: {error}")
        return _Outcome(item, "defer", at=retry_at, error=f"channel down: {error}")

    async def _record(self, session: AsyncSession, outcomes: list[_Outcome]) -> None:
        """A batch's outcomes in a few statements: one per (channel, delivered) of the sent
        rows, one executemany each for deferred, retried and final rows."""
        now = self.clock.now()
        sent: dict[tuple[str, bool], list[int]] = {}
        defers: list[tuple[int, datetime, str]] = []
        retries: list[tuple[int, datetime, str]] = []
        finals: list[tuple[int, str, str]] = []
        for o in outcomes:
            if o.kind == "sent":
                sent.setdefault((o.channel, o.delivered), []).append(o.item.id)
            elif o.kind in ("defer", "retry"):
                assert o.at is not None
                (defers if o.kind == "defer" else retries).append((o.item.id, o.at, o.error))
                self._due_hint(o.at)
            else:
                finals.append((o.item.id, o.kind, o.error))
                if o.kind == "undeliverable" and o.channel:
                    await people_store.set_identity_status(
                        session, o.channel, o.external_id, "blocked"
                    )
                if o.kind == "undeliverable":
                    log.warning(
                        "outbox undeliverable id=%s key=%s", o.item.id, o.item.idempotency_key
                    )
        await outbox.defer_many(session, defers)
        await outbox.retry_many(session, retries)
        await outbox.final_many(session, finals)
        for (channel, delivered), ids in sent.items():
            await outbox.mark_sent(session, ids, now, channel, delivered=delivered)

    def _due_hint(self, at: datetime) -> None:
        """Remember when a row this worker held back comes due, to look again then."""
        if self._next_due is None or at < self._next_due:
            self._next_due = at

    def _idle_wait(self, interval: float) -> float:
        """Seconds to sleep when nothing was due: the poll interval (longer while LISTEN
        wakes this worker), or less when a row it held back comes due sooner."""
        wait = (
            self.idle_poll
            if self.listener is not None and self.listener.connected.is_set()
            else interval
        )
        if self._next_due is not None:
            until = (self._next_due - self.clock.now()).total_seconds()
            if until <= 0:
                self._next_due = None
            wait = max(0.0, min(wait, until))
        return wait

    async def run_forever(self, interval: float = 1.0) -> None:
        """Send until cancelled. When a batch finds nothing, wait for a wake-up (LISTEN on
        PostgreSQL, or this process queueing a row) or the poll interval: ``interval``, or
        ``idle_poll`` while listening."""
        listening = None
        if self.listener is not None:
            listening = asyncio.create_task(self.listener.run(), name="delivery-listen")
        expressing = None
        if self.express:
            expressing = asyncio.create_task(self._express(interval), name="delivery-express")
            self._expressing = True
        try:
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
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self.wake.wait(), self._idle_wait(interval))
        finally:
            self._expressing = False
            for task in (listening, expressing):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task

    async def _express(self, interval: float) -> None:
        """The express loop: replies and small lanes, as they are queued (the module doc). The
        wake-up is cleared before each claim, so a row queued during one is not missed."""
        while True:
            self.express_wake.clear()
            try:
                sent = await self.run_once(express=True)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("delivery express loop error")
                sent = 0
            if sent == 0:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.express_wake.wait(), self._idle_wait(interval))
