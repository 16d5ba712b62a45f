"""Wake-ups for the delivery worker on PostgreSQL: LISTEN on the outbox's insert trigger.

Every insert into ``outbox`` sends a notification at commit (the ``outbox_notify`` trigger,
storage.models). :class:`OutboxListener` keeps one dedicated asyncpg connection, outside the
SQLAlchemy pool, that LISTENs and calls ``on_notify`` for each one; it reconnects after a lost
connection, with backoff. LISTEN must stay on one server connection for its session, so it
cannot go through a transaction-mode pooler (PgBouncer): there it needs a direct URL, and
without one the worker polls (:func:`listen_url`). NOTIFY itself works through the pooler.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from typing import Any

import asyncpg
from sqlalchemy.engine import make_url

from storage.models import OUTBOX_CHANNEL

log = logging.getLogger(__name__)

RETRY_MAX = 30.0
PROBE_EVERY = 60.0


def listen_url(database_url: str, *, pooler: bool, direct_url: str = "") -> str | None:
    """Where to LISTEN: ``direct_url`` when given, else the database itself unless it is
    reached through a pooler; ``None`` (poll instead) for SQLite or a pooler alone."""
    if direct_url:
        return direct_url
    if make_url(database_url).get_backend_name() != "postgresql" or pooler:
        return None
    return database_url


def _dsn(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


class OutboxListener:
    """LISTEN for new outbox rows; ``connected`` is set while notifications can arrive."""

    def __init__(self, url: str, on_notify: Callable[[], None]) -> None:
        self.url = url
        self.on_notify = on_notify
        self.connected = asyncio.Event()

    def _notified(self, *_: Any) -> None:
        self.on_notify()

    async def run(self) -> None:
        """Listen until cancelled, reconnecting when the connection is lost."""
        delay = 1.0
        while True:
            lost = asyncio.Event()
            conn: asyncpg.Connection | None = None
            try:
                conn = await asyncpg.connect(_dsn(self.url), timeout=10)
                conn.add_termination_listener(lambda _c, lost=lost: lost.set())
                await conn.add_listener(OUTBOX_CHANNEL, self._notified)
                self.connected.set()
                self.on_notify()  # rows queued while nobody listened go out now
                log.info("delivery listening for new outbox rows")
                delay = 1.0
                while not lost.is_set():  # a silent network loss shows at the next probe
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(lost.wait(), PROBE_EVERY)
                    if not lost.is_set():
                        await conn.fetchval("SELECT 1", timeout=10)
                log.warning("delivery listen connection lost; polling until it is back")
            except (OSError, asyncpg.PostgresError, TimeoutError):
                log.warning(
                    "delivery cannot listen; polling, retry in %.0f s", delay, exc_info=True
                )
            finally:
                self.connected.clear()
                if conn is not None and not conn.is_closed():
                    with contextlib.suppress(Exception):
                        await asyncio.shield(conn.close(timeout=5))
            await asyncio.sleep(delay)
            delay = min(delay * 2, RETRY_MAX)
