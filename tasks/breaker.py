"""A per-channel circuit breaker: a channel whose far side is down is paused and probed.

closed   -> sends go out as usual.
open     -> a channel-down error (connection refused, timeout, 5xx) was seen: nothing is sent
            until ``retry_at``; rows are held back without spending an attempt.
probing  -> ``retry_at`` passed: exactly one row (the probe) is sent; the rest wait. The probe
            answering closes the breaker; failing again reopens it for twice as long (capped).

The state is per process (every delivery worker and the reply path of the process share it
through :class:`tasks.gates.ChannelGates`); every transition is logged.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

log = logging.getLogger(__name__)

FIRST_PAUSE = timedelta(seconds=15)
MAX_PAUSE = timedelta(minutes=2)
PROBE_TIMEOUT = timedelta(seconds=60)  # a probe not reported by then (its worker died)
HOLD = timedelta(seconds=2)  # how long rows wait behind a probe in flight


class Admit(StrEnum):
    SEND = "send"
    PROBE = "probe"
    HOLD = "hold"


@dataclass
class _State:
    opened_at: datetime
    retry_at: datetime
    pause: timedelta
    probe_until: datetime | None = None
    held: int = 0


class Breaker:
    def __init__(self) -> None:
        self._open: dict[str, _State] = {}

    def is_open(self, channel: str) -> bool:
        return channel in self._open

    def holds(self, channel: str, now: datetime) -> timedelta:
        """How long a send outside the worker (a reply) should wait; zero when closed. Never
        takes the probe: the delivery worker probes."""
        state = self._open.get(channel)
        if state is None:
            return timedelta(0)
        return max(HOLD, state.retry_at - now)

    def admit(self, channel: str, now: datetime) -> tuple[Admit, datetime]:
        """May one row go to ``channel`` now? HOLD comes with the time to try again."""
        state = self._open.get(channel)
        if state is None:
            return Admit.SEND, now
        if state.probe_until is not None and state.probe_until > now:
            state.held += 1
            return Admit.HOLD, now + HOLD
        if state.retry_at > now:
            state.held += 1
            return Admit.HOLD, state.retry_at
        state.probe_until = now + PROBE_TIMEOUT
        log.warning(
            "breaker probing channel=%s down_for=%ss", channel, _secs(now - state.opened_at)
        )
        return Admit.PROBE, now

    def down(self, channel: str, now: datetime, error: str) -> datetime:
        """A send found the channel down; returns when to try it again."""
        state = self._open.get(channel)
        if state is None:
            state = self._open[channel] = _State(now, now + FIRST_PAUSE, FIRST_PAUSE)
            log.warning(
                "breaker open channel=%s retry_in=%ss error=%s",
                channel,
                _secs(FIRST_PAUSE),
                error[:200],
            )
        elif state.probe_until is not None:  # the probe failed: wait longer
            state.pause = min(MAX_PAUSE, state.pause * 2)
            state.retry_at = now + state.pause
            state.probe_until = None
            log.warning(
                "breaker still open channel=%s retry_in=%ss down_for=%ss held=%d",
                channel,
                _secs(state.pause),
                _secs(now - state.opened_at),
                state.held,
            )
        return state.retry_at

    def up(self, channel: str, now: datetime) -> None:
        """A send went through: the channel answers again."""
        state = self._open.pop(channel, None)
        if state is not None:
            log.warning(
                "breaker closed channel=%s down_for=%ss held=%d",
                channel,
                _secs(now - state.opened_at),
                state.held,
            )


def _secs(delta: timedelta) -> int:
    return int(delta.total_seconds())
