"""The channel contract: what a channel offers the delivery worker and the inbound pipeline.

A channel adapter (``bot/channels/<name>/``) implements :class:`Sender`; the delivery worker
(``tasks.delivery``) and the reply path use nothing else of it.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol


@dataclass(frozen=True)
class SendResult:
    ok: bool
    delivered: bool = False  # shown to the person right now (an open web chat page)
    retry_after: float | None = None  # the channel asked us to wait this long (seconds)
    permanent: bool = False  # retrying cannot help (user blocked the bot, invalid user)
    # The far side is unreachable (connection refused, timeout, 5xx): not this message's
    # fault, so the delivery worker's circuit breaker holds the channel and spends no attempt.
    unavailable: bool = False
    error: str = ""


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` messages per ``seconds``."""

    count: int
    seconds: float


@dataclass(frozen=True)
class ChannelLimits:
    """A channel's sending limits, enforced by the delivery worker *before* sending (WeCom
    drops the excess silently, so discovering the limit afterwards is too late).

    ``replies_too``: replies to a person's own message pass the same gate (they are sent at
    once otherwise). For a channel that drops the excess without an error; one that answers
    429 lets replies go straight out and queues the refused ones."""

    overall: tuple[RateLimit, ...] = ()
    per_recipient: tuple[RateLimit, ...] = ()
    replies_too: bool = False


class Sender(Protocol):
    """What a channel offers the delivery worker."""

    name: str
    limits: ChannelLimits

    async def send(
        self, external_id: str, body: dict[str, Any], outbox_id: int | None = None
    ) -> SendResult: ...


# Bulk pushes to more than this many people are spread over a window instead of one burst
# on the hour (jitter on ``not_before`` at enqueue time).
SPREAD_ABOVE = 50
SPREAD_MAX = timedelta(minutes=5)
SPREAD_RATE = 20.0  # messages per second the window is sized for


def spread(key: str, count: int, start: datetime) -> datetime:
    """A stable per-key ``not_before`` inside a window sized to the batch."""
    if count <= SPREAD_ABOVE:
        return start
    window = min(SPREAD_MAX.total_seconds(), count / SPREAD_RATE)
    return start + timedelta(seconds=(zlib.crc32(key.encode()) % 10_000) / 10_000 * window)
