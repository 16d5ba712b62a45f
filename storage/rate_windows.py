"""Sliding-window rate limits: the window arithmetic, and the log shared by every process.

A window is the list of send times (epoch seconds) inside the longest of a key's limits. A
send *request* names one or more keys (a channel's overall key and the recipient's key) with
their limits; it takes a slot in all of them, or in none, and otherwise says how long to wait.

:func:`reserve_many` keeps the windows in ``rate_windows`` rows, locked (``FOR UPDATE``, in key
order so two workers never deadlock) for the one transaction that checks and appends, so two
processes sending to one WeCom member share one window of 30 a minute.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from core.channel import RateLimit
from storage.models import RateWindow

# One send request: (key, that key's limits) for every window it must fit.
Request = Sequence[tuple[str, tuple[RateLimit, ...]]]
KEY_MAX = 200


def window_key(*parts: str) -> str:
    """A key of at most 200 characters (a long external id is hashed)."""
    key = ":".join(parts)
    if len(key) <= KEY_MAX:
        return key
    return key[:120] + "#" + hashlib.sha256(key.encode()).hexdigest()


def wait_for(times: list[float], limits: tuple[RateLimit, ...], now: float) -> float:
    """Seconds until one more send at ``now`` fits every limit (0: it fits now).
    ``times`` is sorted ascending."""
    worst = 0.0
    for lim in limits:
        inside = [t for t in times if t > now - lim.seconds]
        if len(inside) >= lim.count:
            oldest = inside[len(inside) - lim.count]
            worst = max(worst, oldest + lim.seconds - now)
    return worst


def prune(times: list[float], limits: tuple[RateLimit, ...], now: float) -> list[float]:
    """Drop the times no limit can see any more."""
    longest = max((lim.seconds for lim in limits), default=0.0)
    return [t for t in times if t > now - longest]


def decide(windows: dict[str, list[float]], requests: Sequence[Request], now: float) -> list[float]:
    """Check the requests in order against ``windows``, appending ``now`` for each that fits;
    returns each request's wait (0: it took its slots)."""
    out: list[float] = []
    for request in requests:
        wait = max((wait_for(windows[k], lims, now) for k, lims in request), default=0.0)
        if wait <= 0:
            for key, _ in request:
                windows[key].append(now)
        out.append(wait)
    return out


async def reserve_many(
    session: AsyncSession, requests: Sequence[Request], now: datetime
) -> list[timedelta]:
    """The shared form of :func:`decide`: one transaction (the caller's) for a whole batch."""
    limits: dict[str, tuple[RateLimit, ...]] = {}
    for request in requests:
        for key, lims in request:
            known = limits.setdefault(key, ())
            limits[key] = known + tuple(x for x in lims if x not in known)
    if not limits:
        return [timedelta(0)] * len(requests)
    keys = sorted(limits)
    module = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    await session.execute(
        module.insert(RateWindow).on_conflict_do_nothing(index_elements=["key"]),
        [{"key": k, "times": [], "updated_at": now} for k in keys],
    )
    query = sa.select(RateWindow.key, RateWindow.times).where(RateWindow.key.in_(keys))
    query = query.order_by(RateWindow.key)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    at = now.timestamp()
    windows = {
        key: prune(sorted(float(t) for t in times or []), limits[key], at)
        for key, times in (await session.execute(query)).all()
    }
    before = {k: len(v) for k, v in windows.items()}
    waits = decide(windows, requests, at)
    changed = [
        {"key": k, "times": windows[k], "updated_at": now}
        for k in keys
        if len(windows[k]) != before[k]
    ]
    if changed:  # one executemany (ORM bulk UPDATE by primary key)
        await session.execute(sa.update(RateWindow), changed)
    return [timedelta(seconds=w) for w in waits]


async def forget_idle(session: AsyncSession, before: datetime) -> int:
    """Delete windows nobody sent through since ``before`` (they hold nothing any limit sees)."""
    result = await session.execute(sa.delete(RateWindow).where(RateWindow.updated_at < before))
    return int(getattr(result, "rowcount", 0) or 0)
