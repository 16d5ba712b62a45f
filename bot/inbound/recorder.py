"""The inbox writer with group commit, for channels that must answer their server at once.

A message that arrives while an inbox write is in flight joins the next one, so under load
many messages share one transaction and one statement; alone, a message is written at once.
On PostgreSQL reached directly the write is that one statement in autocommit (one round trip
instead of three with BEGIN and COMMIT; committed, and durable, before it answers): the
channel answers its server only after it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import datetime
from typing import Any

from core.clock import Clock
from core.messages import Incoming
from storage import inbox
from storage.db import lone_statements_autocommit
from storage.session import AsyncSession, async_sessionmaker

log = logging.getLogger(__name__)

RECORD_BATCH = 100  # inbox rows written by one statement at most


class Recorder:
    def __init__(self, sessionmaker: async_sessionmaker, clock: Clock) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock
        # Messages waiting for the inbox writer.
        self._waiting: list[tuple[Incoming, asyncio.Future[int | None]]] = []
        self._writer: asyncio.Task[None] | None = None
        self._autocommit = lone_statements_autocommit(sessionmaker)

    async def record(self, incoming: Incoming) -> int | None:
        """Write the message to the inbox and commit; ``None`` for a message id seen before."""
        future: asyncio.Future[int | None] = asyncio.get_running_loop().create_future()
        self._waiting.append((incoming, future))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_waiting(), name="inbox-writer")
        inbox_id = await future
        if inbox_id is None:
            log.info(
                "duplicate message ignored channel=%s msg=%s", incoming.channel, incoming.message_id
            )
        return inbox_id

    async def _write_waiting(self) -> None:
        while self._waiting:
            batch = self._waiting[:RECORD_BATCH]
            del self._waiting[:RECORD_BATCH]
            try:
                ids = await self._write([incoming for incoming, _ in batch])
            except Exception as exc:  # each caller gets the error (and its channel a 5xx)
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            for (_, future), inbox_id in zip(batch, ids, strict=True):
                if not future.done():
                    future.set_result(inbox_id)

    async def _write(self, batch: list[Incoming]) -> list[int | None]:
        now = self.clock.now()
        async with self.sessionmaker() as session:
            if self._autocommit:
                await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
            if len(batch) == 1:  # the common case at low load: the cached one-row statement
                ids = [await record(session, batch[0], now, handled=False)]
            else:
                new = await inbox.record_many(
                    session, [inbox_values(incoming, now, handled=False) for incoming in batch]
                )
                # A message id twice in one batch (a channel's quick retry): the first is new.
                ids = [new.pop((incoming.channel, incoming.message_id), None) for incoming in batch]
            await session.commit()  # in autocommit: committed already, nothing is sent
        return ids


async def record(
    session: AsyncSession,
    incoming: Incoming,
    now: datetime,
    *,
    handled: bool,
    error: str | None = None,
) -> int | None:
    """One inbox row in the caller's transaction; ``None`` for a message id seen before."""
    return await inbox.record(session, **inbox_values(incoming, now, handled=handled, error=error))


_TEXT_FIELDS = ("channel", "sender_id", "message_id", "text", "payload", "label")


def storable(value: str) -> str:
    """``value`` without NUL characters and with lone surrogates replaced (U+FFFD): neither
    can be stored (PostgreSQL refuses both in text and JSON; UTF-8 cannot encode a
    surrogate). The common, clean case costs one encode."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        # Through UTF-16: a surrogate pair written as two code points becomes the character it
        # stands for, and each lone surrogate one U+FFFD.
        value = value.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")
    if "\x00" in value:
        value = value.replace("\x00", "")
    return value


def clean(incoming: Incoming) -> Incoming:
    """The message as it can be stored: every text field passed through :func:`storable`.
    The inbound flow applies it once, on the way in, so the handler sees what is stored."""
    changes: dict[str, Any] = {
        name: fixed
        for name in _TEXT_FIELDS
        if (fixed := storable(getattr(incoming, name))) != getattr(incoming, name)
    }
    return dataclasses.replace(incoming, **changes) if changes else incoming


def inbox_values(
    incoming: Incoming, now: datetime, *, handled: bool, error: str | None = None
) -> dict[str, Any]:
    return {
        "channel": incoming.channel,
        "message_id": incoming.message_id,
        "sender_id": incoming.sender_id,
        "payload": incoming.to_dict(),
        "now": now,
        "handled_at": now if handled else None,
        "error": error,
    }
